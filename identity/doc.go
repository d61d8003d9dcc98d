// SPDX-License-Identifier: Apache-2.0

// Package identity tells a front end serving local clients on a UNIX
// socket who is asking: the peer's credentials as the kernel reports them
// (SO_PEERCRED, never what a client claims), the process they name, read
// from /proc and checked against them, and a process a caller names by
// pid, which must be pinned by the uid the caller vouches for (and may be
// by its start time, against pid reuse).
//
// SO_PEERCRED is taken when the connection is made: a process that
// connects as root and then drops its privileges keeps a root connection,
// and one that connects as a user keeps that user's, whatever it
// executes afterwards.
//
// Whether a caller may name another process at all is the front end's
// policy, not this package's.
package identity
