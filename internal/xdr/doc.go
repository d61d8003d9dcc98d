// SPDX-License-Identifier: Apache-2.0

// Package xdr is the strict XDR (RFC 4506) codec under the generated libvirt
// RPC code in libvirt/proto and the framing in libvirt/frame.
//
// A Decoder reads one message body and fails closed where libvirt's XDR
// (glibc/libtirpc xdr_* as called by rpcgen code) would read something other
// than what a guard decided on:
//
//   - a string containing NUL is an error (xdr_string would cut it there);
//   - string, opaque and array lengths above the .x file's maximum are errors;
//   - no length word is trusted beyond the bytes that remain: an array of n
//     elements needs at least n times its smallest element's encoding, so a
//     decoder never allocates more than a small multiple of its input;
//   - padding must be zero, and char and short values must fit their C type
//     (libvirt's clients never send anything else);
//   - Finish reports bytes left after the body (libvirtd ignores them).
//
// Booleans and optional-data markers accept any nonzero word as true, as
// xdr_bool does, so that the guard reads what libvirtd reads.
//
// Every error wraps one of the Err* sentinels; decoders generated on top of
// this package add the field path with Field and Index.
package xdr
