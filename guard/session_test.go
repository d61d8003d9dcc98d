// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// hasRecord reports whether the audit log holds a record containing all
// of parts.
func (w *world) hasRecord(parts ...string) bool {
	for _, r := range w.audit.records() {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(r, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// waitRecord waits for a record containing all of parts (refusals are
// audited off the reader, before their reply).
func (w *world) waitRecord(t *testing.T, parts ...string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if w.hasRecord(parts...) {
			return
		}
	}
	t.Errorf("no audit record with %q; records: %q", parts, w.audit.records())
}

func TestOpenDecidedBeforeLibvirtd(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name     string
		uri      *string
		deny     string
		wantCode int32
		record   []string
	}{
		{"connect:getattr denied", str("qemu:///system"), "connect:getattr", frame.ErrAccessDenied,
			[]string{"REMOTE_PROC_CONNECT_OPEN connect:getattr false policy"}},
		{"no URI", nil, "", frame.ErrAccessDenied, []string{"REMOTE_PROC_CONNECT_OPEN", "false refused"}},
		{"unknown driver", str("vbox:///session"), "", frame.ErrAccessDenied, []string{"REMOTE_PROC_CONNECT_OPEN", "false refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, Options{})
			w.policy.deny = map[string]bool{tt.deny: true}
			c := w.dial(t)
			code := c.call(proto.RemoteProcConnectOpen, &proto.RemoteConnectOpenArgs{Name: tt.uri})
			if code != tt.wantCode {
				t.Errorf("open: error %d, want %d", code, tt.wantCode)
			}
			if ps := w.up.procs(0); len(ps) != 0 {
				t.Errorf("libvirtd was sent %v, want nothing (not even CONNECT_OPEN)", ps)
			}
			w.waitRecord(t, tt.record...)
			// As after libvirtd's failed open, the connection stays,
			// unopened.
			if code := c.call(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: vmA}); code != errInternal {
				t.Errorf("call after the refused open: error %d, want %d (not open)", code, errInternal)
			}
		})
	}
}

func TestOpenAllowedDecidedOnce(t *testing.T) {
	w := newWorld(t, Options{})
	w.dial(t).open()
	n := 0
	for _, r := range w.audit.records() {
		if strings.Contains(r, "REMOTE_PROC_CONNECT_OPEN connect:getattr") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d connect:getattr records for one open, want 1: %q", n, w.audit.records())
	}
}

// TestSerialInFlightUntilDelivered reuses the serial of a lookup whose
// reply libvirtd has sent but the guard is still checking.
func TestSerialInFlightUntilDelivered(t *testing.T) {
	w := newWorld(t, Options{}, "domain:getattr a0000000-0000-0000-0000-00000000000a")
	c := w.dial(t)
	c.open()
	block := make(chan struct{})
	w.policy.mu.Lock()
	asked := len(w.policy.asked)
	w.policy.mu.Unlock()
	w.policy.block = block
	defer close(block)
	serial := c.sendArgs(proto.RemoteProcDomainLookupByName, &proto.RemoteDomainLookupByNameArgs{Name: "vmA"})
	// Wait until the reply's check asks the policy: libvirtd has replied.
	for deadline := time.Now().Add(5 * time.Second); len(w.policy.requests()) == asked; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the lookup's reply was never checked")
		}
	}
	body, _ := proto.Marshal(&proto.RemoteDomainLookupByNameArgs{Name: "vmB"})
	h := frame.Header{Prog: uint32(proto.Remote), Vers: 1, Proc: int32(proto.RemoteProcDomainLookupByName), Type: frame.Call, Serial: serial}
	if err := frame.Write(c.c, &frame.Message{Header: h, Body: body}); err != nil {
		t.Fatal(err)
	}
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if m, err := frame.Read(c.c); !errors.Is(err, io.EOF) {
		t.Fatalf("after reusing serial %d in flight: got %+v, %v; want the connection closed", serial, m, err)
	}
	w.waitRecord(t, "REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME", "false refused")
}

func TestSerialReusableOnceDelivered(t *testing.T) {
	w := newWorld(t, Options{}, aStart)
	c := w.dial(t)
	c.open()
	for range 3 {
		c.serial = 7 // the same serial each time, after its reply
		if code := c.call(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: vmA}); code != 0 {
			t.Fatalf("create: error %d", code)
		}
		if code := c.call(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: vmB}); code != frame.ErrAccessDenied {
			t.Fatalf("create of vmB: error %d, want access denied", code)
		}
	}
}

// TestRefusalsAudited: every call the guard answers itself with an
// error leaves a record.
func TestRefusalsAudited(t *testing.T) {
	tests := []struct {
		name   string
		open   bool
		num    proto.RemoteProcedure
		args   proto.Message
		code   int32
		record string
	}{
		{"AUTH_POLKIT", false, proto.RemoteProcAuthPolkit, &proto.Void{}, errAuthFailed, "REMOTE_PROC_AUTH_POLKIT"},
		{"AUTH_SASL_INIT", false, proto.RemoteProcAuthSaslInit, &proto.Void{}, errAuthFailed, "REMOTE_PROC_AUTH_SASL_INIT"},
		{"call before open", false, proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: vmA}, errInternal, "REMOTE_PROC_DOMAIN_CREATE"},
		{"second open", true, proto.RemoteProcConnectOpen, &proto.RemoteConnectOpenArgs{}, errInternal, "REMOTE_PROC_CONNECT_OPEN"},
		{"object libvirtd does not know", true, proto.RemoteProcDomainCreate,
			&proto.RemoteDomainCreateArgs{Dom: proto.RemoteNonnullDomain{Name: "x", UUID: [16]byte{1}}}, 42, "REMOTE_PROC_DOMAIN_CREATE domain:start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, Options{})
			c := w.dial(t)
			if tt.open {
				c.open()
			}
			if code := c.call(tt.num, tt.args); code != tt.code {
				t.Errorf("error %d, want %d", code, tt.code)
			}
			w.waitRecord(t, tt.record, "false refused")
		})
	}
}

// TestKeepalivePastMaxPending pipelines more calls than may be decided
// at once, all held by a slow policy, then a PING.
func TestKeepalivePastMaxPending(t *testing.T) {
	const maxPending = 4
	w := newWorld(t, Options{MaxPending: maxPending}, aStart)
	c := w.dial(t)
	c.open()
	block := make(chan struct{})
	w.policy.block = block
	var serials []uint32
	for range 5 * maxPending {
		serials = append(serials, c.sendArgs(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: vmA}))
	}
	ping := frame.Header{Prog: frame.KeepaliveProgram, Vers: 1, Proc: frame.KeepalivePing, Type: frame.Event}
	if err := frame.Write(c.c, &frame.Message{Header: ping}); err != nil {
		t.Fatal(err)
	}
	if m := c.recv(); m.Header.Prog != frame.KeepaliveProgram || m.Header.Proc != frame.KeepalivePong {
		t.Fatalf("got %+v before the PONG", m.Header)
	}
	close(block)
	var got []uint32
	for range serials {
		m := c.recv()
		if code := errCode(t, m); code != 0 {
			t.Errorf("create serial %d: error %d", m.Header.Serial, code)
		}
		got = append(got, m.Header.Serial)
	}
	slices.Sort(got)
	if !slices.Equal(got, serials) {
		t.Errorf("replies for serials %v, want %v", got, serials)
	}
}
