// SPDX-License-Identifier: Apache-2.0

// Package xdrgen generates libvirt/proto from libvirt's RPC protocol files.
//
// It parses the subset of the XDR language (RFC 4506) and rpcgen's
// extensions that libvirt's src/remote/*_protocol.x and
// src/rpc/virnetprotocol.x use: const, enum, struct, union with switch,
// typedef, fixed and variable arrays, opaque, string<N>, optional data
// (type *name), hyper, unsigned hyper, and rpcgen's char, short, unsigned
// char and unsigned short (4-byte ints on the wire) and bool. Lines starting
// with % (rpcgen pass-through) are skipped.
//
// It also reads the annotation comment (/** ... */) before each
// <PREFIX>_PROC_<NAME> = N enum member, as libvirt's src/rpc/gendispatch.pl
// does: @generate, @priority, @readstream, @writestream, @sparseflag, @acl
// and @aclfilter. Struct names tie procedures to their bodies as they do
// for gendispatch.pl: <prefix>_<name>_args, _ret and _msg.
//
// The C constants the .x files and the @acl rules use (VIR_UUID_BUFLEN,
// VIR_DOMAIN_XML_SECURE, ...) are read from libvirt's public headers,
// include/libvirt/*.h: enum members and #defines with constant integer
// expressions.
//
// The output is Go source for one package; see Generate.
package xdrgen
