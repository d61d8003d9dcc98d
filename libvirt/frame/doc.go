// SPDX-License-Identifier: Apache-2.0

// Package frame reads and writes the messages of libvirt's RPC protocol on
// a stream socket, as src/rpc/virnetprotocol.x and src/rpc/virnetmessage.c
// (libvirt 9.0.0) define them:
//
//	length  uint32, big-endian, counting itself; at most MaxMessage + 4
//	header  {prog, vers, proc, type, serial, status}, 24 bytes of XDR
//	numFDs  uint32, only for CALL_WITH_FDS and REPLY_WITH_FDS
//	body    XDR; its type depends on prog, proc, type and status
//
// The file descriptors themselves travel out of band (SCM_RIGHTS, one per
// 1-byte sendmsg after the message); passing them is not this package's
// job, but Message carries the count.
//
// The package also builds libvirt's error replies (remote_error, named
// virNetMessageError in virnetprotocol.x), in particular the access-denied
// error a guard answers with.
package frame
