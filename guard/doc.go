// SPDX-License-Identifier: Apache-2.0

// Package guard is a libvirt-protocol front end for the decision engine:
// it serves libvirt's RPC protocol (src/rpc/virnetprotocol.x,
// src/remote/remote_protocol.x) on a socket of its own, decides every
// call in-process with the running engine (package engine), and forwards
// what is allowed to libvirtd over a connection of its own, as root.
//
// For each client the guard
//
//   - takes the client's identity from the kernel (SO_PEERCRED, package
//     identity) and authenticates it itself: AUTH_LIST answers AUTH_NONE,
//     the other authentication procedures are refused;
//   - decides CONNECT_OPEN (connect:getattr on the driver its URI names)
//     before forwarding it (with VIR_CONNECT_RO on a read-only socket)
//     and, once it succeeded, passes the client's identity to libvirtd
//     with CONNECT_SET_IDENTITY, as virtproxyd does (remoteOpenConn in
//     src/remote/remote_daemon_dispatch.c); a client's own
//     CONNECT_SET_IDENTITY is refused;
//   - decodes every call fully (libvirt/proto); anything undecodable,
//     with leftover bytes, or of an unknown program or procedure is
//     refused, logged and audited;
//   - checks each @acl rule that applies to the call on the object the
//     call names by UUID, with the name and other polkit details taken
//     from libvirtd's own answer on a second, read-only connection the
//     guard opens for its lookups (never from the client's message);
//   - forwards lookups (DOMAIN_LOOKUP_BY_NAME, ...) and checks the object
//     libvirtd returns, answering access denied instead of the reply when
//     the check fails;
//   - filters lists, counts, domain stats and events by their @aclfilter
//     permission (filter.go, oldlists.go, events.go): a list is decided in
//     one engine CheckMany on the objects libvirtd's reply names, and
//     re-encoded with the allowed ones; events are decided in order, on
//     the object each names;
//   - keeps each call's serial in flight until its reply is delivered or
//     refused, and closes a client that reuses one in flight;
//   - answers keepalive PINGs itself, so that none waits behind a pending
//     decision (nor behind MaxPending of them), and forwards stream
//     packets once the call that opened the stream was allowed (holes
//     only on streams opened sparse; a client that sends another ends
//     its session, as libvirtd closes it);
//   - passes file descriptors only on the procedures that carry them;
//   - applies the engine generation's rate_limit to each call of a user
//     other than root, and limit.Conns to their connections
//     (Options.Slots), as the varlink daemon does.
//
// A denial is libvirt's own access-denied error (code 88, domain 55), so
// virsh and every libvirt client show it as they show libvirtd's. Every
// error on the guard's side denies, and every call the guard answers with
// an error itself leaves an audit record.
//
// Calls that define or create a domain, network, storage pool, secret,
// nwfilter or network port from XML are checked, as libvirt checks them,
// on the object the XML describes (its name and UUID; without a UUID, a
// new object).
//
// Not yet: the procedures whose object only the XML they carry defines
// (storage volumes, nwfilter bindings, interfaces, node devices: they are
// denied). The guard is a boundary
// only if its clients cannot reach
// libvirtd's own read-write socket.
package guard
