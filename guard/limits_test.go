// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
)

// limited makes every uid subject to the limits: the tests may run as root.
func limited(uint32) bool { return false }

// TestRateLimit: a client's calls past rate_limit are answered
// VIR_ERR_RESOURCE_BUSY, not decided; CONNECT_CLOSE still passes.
func TestRateLimit(t *testing.T) {
	const burst = 5
	w := newWorldGen(t, Options{unlimited: limited}, func(g *engine.Generation) {
		g.Rate = limit.NewRate(0.5, burst, nil)
	}, aStart)
	c := w.dial(t)
	c.open()
	const n = 30
	serials := make([]uint32, n)
	for i := range serials {
		serials[i] = c.sendArgs(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: vmA})
	}
	codes := map[int32]int{}
	for range serials {
		m := c.recv()
		if m.Header.Type == frame.Reply {
			codes[errCode(t, m)]++
		}
	}
	if codes[0] < burst || codes[0] > burst+1 || codes[errBusy] != n-codes[0] {
		t.Errorf("replies by error code %v: want %d or %d allowed, the rest %d", codes, burst, burst+1, errBusy)
	}
	decided := 0
	for _, r := range w.policy.requests() {
		if r.Permission.String() == "domain:start" {
			decided++
		}
	}
	if decided != codes[0] {
		t.Errorf("%d domain:start decisions, want %d: refused calls are not decided", decided, codes[0])
	}
	if code := c.call(proto.RemoteProcConnectClose, &proto.Void{}); code != 0 {
		t.Errorf("CONNECT_CLOSE over the rate limit: error %d", code)
	}
	// The same user's calls before CONNECT_OPEN, forwarded as they are,
	// count too.
	early := w.dial(t)
	feature := &proto.RemoteConnectSupportsFeatureArgs{Feature: 1}
	if code := early.call(proto.RemoteProcConnectSupportsFeature, feature); code != errBusy {
		t.Errorf("CONNECT_SUPPORTS_FEATURE before open, over the rate limit: error %d, want %d", code, errBusy)
	}
}

// TestConnectionLimit: past max_clients_per_user a client's first call
// is answered VIR_ERR_RESOURCE_BUSY and its connection closed; a slot
// freed is taken again.
func TestConnectionLimit(t *testing.T) {
	w := newWorld(t, Options{unlimited: limited, Slots: limit.NewConns(100, 0, 2)})
	first := w.dial(t)
	first.open()
	w.dial(t).open()
	over := w.dial(t)
	if code := over.call(proto.RemoteProcAuthList, &proto.Void{}); code != errBusy {
		t.Errorf("third connection: error %d, want %d", code, errBusy)
	}
	over.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := frame.Read(over.c); !errors.Is(err, io.EOF) {
		t.Errorf("third connection after the refusal: %v, want EOF", err)
	}
	first.c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := w.dial(t)
		if code := c.call(proto.RemoteProcAuthList, &proto.Void{}); code == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("after a client left: error %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
