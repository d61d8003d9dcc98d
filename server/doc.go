// SPDX-License-Identifier: Apache-2.0

// Package server implements the helper's varlink interface,
// io.github.virt-acl-helper.access, whose contract is package accessapi:
// method handlers that turn calls into access.Engine requests about the
// calling process, or, for privileged callers, about a process they name;
// the privilege checks; and the errors clients act on.
//
// Who asks is always the connection's peer as the kernel reports it
// (SO_PEERCRED), read once when the connection is accepted.
package server
