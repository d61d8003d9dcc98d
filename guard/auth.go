// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// authSerial is the serial of the guard's AUTH_LIST on a new libvirtd
// connection: before any other call, and never one of the guard's own
// later calls (session serials start above it).
const authSerial = 0x80000000

// authUpstream asks libvirtd which authentication it wants on a new
// connection (AUTH_LIST), as every libvirt client does first. On a
// socket with auth_unix_rw = "polkit", Debian's default, that call is
// what lets a root client in: remoteDispatchAuthList
// (src/remote/remote_daemon_dispatch.c) waives polkit for uid 0; without
// it libvirtd answers every call with "authentication required". The
// guard authenticates no other way: a list without AUTH_NONE (an empty
// list means none, as libvirt's client reads it) is an error naming
// what libvirtd wants.
func authUpstream(ctx context.Context, c net.Conn, table *proto.Table) error {
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
		defer c.SetDeadline(time.Time{})
	}
	p, _ := table.Lookup(proto.Remote, int32(proto.RemoteProcAuthList))
	call := &frame.Message{Header: frame.Header{Prog: uint32(proto.Remote), Vers: proto.Remote.Version(),
		Proc: int32(proto.RemoteProcAuthList), Type: frame.Call, Serial: authSerial}}
	if err := frame.Write(c, call); err != nil {
		return fmt.Errorf("AUTH_LIST to libvirtd: %w", err)
	}
	// Nothing else can come before the reply: no call is in flight and
	// keepalive is not negotiated yet.
	reply, err := frame.Read(c)
	if err != nil {
		return fmt.Errorf("AUTH_LIST reply from libvirtd: %w", err)
	}
	if h := reply.Header; h.Type != frame.Reply || h.Serial != authSerial || h.Prog != uint32(proto.Remote) {
		return fmt.Errorf("libvirtd answered AUTH_LIST with a %s of program %#x serial %d", h.Type, h.Prog, h.Serial)
	}
	var ret proto.RemoteAuthListRet
	if err := decodeReply(p, reply, &ret); err != nil {
		return err
	}
	if len(ret.Types) > 0 && !slices.Contains(ret.Types, proto.RemoteAuthNone) {
		return fmt.Errorf("libvirtd wants authentication %v (1 SASL, 2 polkit) from the guard; it passes root clients without any: run the guard as root against a UNIX socket", ret.Types)
	}
	return nil
}
