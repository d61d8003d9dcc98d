// SPDX-License-Identifier: Apache-2.0

// Package listener opens the UNIX stream sockets a service serves: the
// ones systemd passed by socket activation (sd_listen_fds(3)), told apart
// by their FileDescriptorName=, or one listened on at a path. The daemon
// ("virt-acl-helper serve") and the guard ("virt-acl-helper guard") both
// take their sockets from it, so both follow the same convention and fail
// the same way: a descriptor that is not a UNIX stream listener, has no
// name among several, or has a name the service does not serve stops the
// service with an error naming it, where go-systemd's
// activation.ListenersWithNames would drop it silently.
package listener
