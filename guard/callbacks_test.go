// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"slices"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// TestEventCallbacksBounded: a client holds at most
// guard_max_event_callbacks callbacks; one more is answered resource
// busy, never forwarded, and audited as a refusal; a deregistration
// frees a place.
func TestEventCallbacksBounded(t *testing.T) {
	w := newWorldGen(t, Options{unlimited: func(uint32) bool { return false }},
		func(g *engine.Generation) { g.Config.GuardMaxEventCallbacks = 2 }, listed...)
	c := w.dial(t)
	c.open()
	register := func() int32 {
		return c.call(proto.RemoteProcConnectDomainEventCallbackRegisterAny, &proto.RemoteConnectDomainEventCallbackRegisterAnyArgs{})
	}
	var got []int32
	for range 3 {
		got = append(got, register())
	}
	got = append(got, c.call(proto.RemoteProcConnectDomainEventCallbackDeregisterAny, &proto.RemoteConnectDomainEventCallbackDeregisterAnyArgs{}))
	got = append(got, register(), register())
	if want := []int32{0, 0, errBusy, 0, 0, errBusy}; !slices.Equal(got, want) {
		t.Errorf("register, register, register, deregister, register, register: %v, want %v", got, want)
	}
	forwarded := 0
	for _, p := range w.up.procs(0) {
		if p == int32(proto.RemoteProcConnectDomainEventCallbackRegisterAny) {
			forwarded++
		}
	}
	if forwarded != 3 {
		t.Errorf("%d registrations reached libvirtd, want 3", forwarded)
	}
	refused, granted := 0, 0
	for _, r := range w.audit.records() {
		if !strings.Contains(r, "REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY") {
			continue
		}
		switch {
		case strings.HasSuffix(r, "false refused"):
			refused++
		case strings.HasSuffix(r, "true granted"):
			granted++
		}
	}
	// A refused registration is refused before it is decided: it leaves
	// the refusal alone, no grant beside it.
	if refused != 2 || granted != 3 {
		t.Errorf("%d refusals and %d grants audited, want 2 and 3: %q", refused, granted, w.audit.records())
	}
}

// TestEventCallbackErrorsCounted: a registration libvirtd refuses gives
// its reserved place back, however many there are; a deregistration
// libvirtd refuses frees none: with a cap of 2, two registrations still
// pass after three refused ones, the next is refused by the guard, and
// stays refused after a failed deregistration until one succeeds.
func TestEventCallbackErrorsCounted(t *testing.T) {
	w := newWorldGen(t, Options{unlimited: func(uint32) bool { return false }},
		func(g *engine.Generation) { g.Config.GuardMaxEventCallbacks = 2 }, listed...)
	c := w.dial(t)
	c.open()
	register := func(id int32) int32 {
		return c.call(proto.RemoteProcConnectDomainEventCallbackRegisterAny, &proto.RemoteConnectDomainEventCallbackRegisterAnyArgs{EventID: id})
	}
	deregister := func(id int32) int32 {
		return c.call(proto.RemoteProcConnectDomainEventCallbackDeregisterAny, &proto.RemoteConnectDomainEventCallbackDeregisterAnyArgs{CallbackID: id})
	}
	for _, step := range []struct {
		name string
		call func() int32
		want int32
	}{
		{"refused by libvirtd 1", func() int32 { return register(unknownEventID) }, errInternal},
		{"refused by libvirtd 2", func() int32 { return register(unknownEventID) }, errInternal},
		{"refused by libvirtd 3", func() int32 { return register(unknownEventID) }, errInternal},
		{"first", func() int32 { return register(0) }, 0},
		{"second", func() int32 { return register(1) }, 0},
		{"past the cap", func() int32 { return register(2) }, errBusy},
		{"deregistration refused by libvirtd", func() int32 { return deregister(unknownCallbackID) }, errInternal},
		{"past the cap still", func() int32 { return register(2) }, errBusy},
		{"deregistration", func() int32 { return deregister(1) }, 0},
		{"a freed place", func() int32 { return register(2) }, 0},
	} {
		if got := step.call(); got != step.want {
			t.Fatalf("%s: error %d, want %d", step.name, got, step.want)
		}
	}
}

// TestEventCallbackRefusedGivesItsPlaceBack: a registration the guard
// refuses on policy gives back the place it reserved: with a cap of 2,
// three network event registrations refused (no connect:search_networks)
// leave room for two domain event registrations, and the third is busy.
func TestEventCallbackRefusedGivesItsPlaceBack(t *testing.T) {
	w := newWorldGen(t, Options{unlimited: func(uint32) bool { return false }},
		func(g *engine.Generation) { g.Config.GuardMaxEventCallbacks = 2 }, listed[:4]...)
	c := w.dial(t)
	c.open()
	var got []int32
	for range 3 {
		got = append(got, c.call(proto.RemoteProcConnectNetworkEventRegisterAny, &proto.RemoteConnectNetworkEventRegisterAnyArgs{}))
	}
	for range 3 {
		got = append(got, c.call(proto.RemoteProcConnectDomainEventCallbackRegisterAny, &proto.RemoteConnectDomainEventCallbackRegisterAnyArgs{}))
	}
	if want := []int32{frame.ErrAccessDenied, frame.ErrAccessDenied, frame.ErrAccessDenied, 0, 0, errBusy}; !slices.Equal(got, want) {
		t.Errorf("three refused network registrations, then three domain ones: %v, want %v", got, want)
	}
}
