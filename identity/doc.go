// SPDX-License-Identifier: Apache-2.0

// Package identity tells a front end serving local clients on a UNIX
// socket who is asking: the peer's credentials as the kernel reports them
// (SO_PEERCRED, never what a client claims), the process they name, read
// from /proc and checked against them, and a process a caller names by
// pid, pinned by uid and start time against pid reuse.
//
// Whether a caller may name another process at all is the front end's
// policy, not this package's.
package identity
