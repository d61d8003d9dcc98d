// SPDX-License-Identifier: Apache-2.0

// Package varlink speaks the varlink protocol (https://varlink.org) over
// UNIX stream sockets: JSON objects, each ended by a NUL byte, carrying
// method calls and their replies or errors. It is the protocol systemd's own
// services speak.
//
// The package holds the wire codec (with a maximum message size), the call,
// reply and error types, a Server that dispatches calls to registered
// interfaces and answers org.varlink.service itself, and a small Client.
//
// A Server is built for a security service facing untrusted local callers:
// every connection carries its peer's kernel credentials (SO_PEERCRED),
// messages are bounded in size, reads and writes have deadlines, the number
// of connections is capped, and a malformed request gets an error reply
// after which the connection is closed, leaving every other client served.
package varlink
