// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"fmt"
	"slices"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// The fake host's lists: running domains vmA (allowed by the tests'
// policy) and vmB, defined ones vmC and vmD (allowed); networks netA
// (allowed) and netB.
var (
	runA   = proto.RemoteNonnullDomain{Name: "vmA", UUID: uuidA, ID: 7}
	runB   = proto.RemoteNonnullDomain{Name: "vmB", UUID: uuidB, ID: 8}
	defC   = proto.RemoteNonnullDomain{Name: "vmC", UUID: [16]byte{0xc0, 15: 0x0c}, ID: -1}
	defD   = proto.RemoteNonnullDomain{Name: "vmD", UUID: [16]byte{0xd0, 15: 0x0d}, ID: -1}
	netA   = proto.RemoteNonnullNetwork{Name: "netA", UUID: [16]byte{0xe0, 15: 0x0e}}
	netB   = proto.RemoteNonnullNetwork{Name: "netB", UUID: [16]byte{0xf0, 15: 0x0f}}
	listed = []string{
		"domain:getattr " + uuidString(runA.UUID), "domain:getattr " + uuidString(defD.UUID),
		"domain:read " + uuidString(runA.UUID), "domain:read " + uuidString(defD.UUID),
		"network:getattr " + uuidString(netA.UUID), "connect:search_networks ",
	}
)

// listAnswer answers the fake's list calls as libvirtd would; a callback
// registration is followed by a lifecycle event, of vmB for the old
// style and of vmA for the new.
func listAnswer(h frame.Header, args proto.Message) (proto.Message, *frame.Message) {
	doms := func(flags uint32) []proto.RemoteNonnullDomain {
		switch flags {
		case domainsActive:
			return []proto.RemoteNonnullDomain{runA, runB}
		case domainsInactive:
			return []proto.RemoteNonnullDomain{defC, defD}
		}
		return []proto.RemoteNonnullDomain{runA, runB, defC, defD}
	}
	event := func(proc proto.RemoteProcedure, msg proto.Message) *frame.Message {
		body, err := proto.Marshal(msg)
		if err != nil {
			panic(err)
		}
		return &frame.Message{Header: frame.Header{Prog: uint32(proto.Remote), Vers: 1, Proc: int32(proc),
			Type: frame.Event, Serial: 1}, Body: body}
	}
	switch a := args.(type) {
	case *proto.RemoteConnectListAllDomainsArgs:
		d := doms(a.Flags)
		if a.NeedResults == 0 {
			return &proto.RemoteConnectListAllDomainsRet{Ret: uint32(len(d))}, nil
		}
		return &proto.RemoteConnectListAllDomainsRet{Domains: d, Ret: uint32(len(d))}, nil
	case *proto.RemoteConnectListDomainsArgs:
		return &proto.RemoteConnectListDomainsRet{IDs: []int32{runA.ID, runB.ID}}, nil
	case *proto.RemoteConnectListDefinedDomainsArgs:
		return &proto.RemoteConnectListDefinedDomainsRet{Names: []string{defC.Name, defD.Name}}, nil
	case *proto.RemoteConnectGetAllDomainStatsArgs:
		var recs []proto.RemoteDomainStatsRecord
		for _, d := range doms(0) {
			recs = append(recs, proto.RemoteDomainStatsRecord{Dom: d})
		}
		return &proto.RemoteConnectGetAllDomainStatsRet{RetStats: recs}, nil
	case *proto.RemoteConnectListAllNetworksArgs:
		return &proto.RemoteConnectListAllNetworksRet{Nets: []proto.RemoteNonnullNetwork{netA, netB}, Ret: 2}, nil
	case *proto.RemoteConnectDomainEventRegisterAnyArgs:
		return &proto.Void{}, event(proto.RemoteProcDomainEventLifecycle, &proto.RemoteDomainEventLifecycleMsg{Dom: runB})
	case *proto.RemoteConnectDomainEventCallbackRegisterAnyArgs:
		return &proto.RemoteConnectDomainEventCallbackRegisterAnyRet{CallbackID: 1},
			event(proto.RemoteProcDomainEventCallbackLifecycle, &proto.RemoteDomainEventCallbackLifecycleMsg{
				CallbackID: 1, Msg: proto.RemoteDomainEventLifecycleMsg{Dom: runA}})
	}
	if ret := moreListAnswer(args); ret != nil {
		return ret, nil
	}
	switch {
	case h.Proc == int32(proto.RemoteProcConnectNumOfDomains):
		return &proto.RemoteConnectNumOfDomainsRet{Num: 2}, nil
	case h.Proc == int32(proto.RemoteProcConnectNumOfDefinedDomains):
		return &proto.RemoteConnectNumOfDefinedDomainsRet{Num: 2}, nil
	}
	return nil, nil
}

// decodeRet decodes the reply to a call of num.
func decodeRet[T proto.Message](t *testing.T, w *world, m *frame.Message, num proto.RemoteProcedure) T {
	t.Helper()
	if code := errCode(t, m); code != 0 {
		t.Fatalf("%d: error %d", num, code)
	}
	p, _ := w.up.table.Lookup(proto.Remote, int32(num))
	ret, err := p.DecodeRet(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	return ret.(T)
}

func domainNames(ds []proto.RemoteNonnullDomain) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return out
}

func TestListsFiltered(t *testing.T) {
	w := newWorld(t, Options{}, listed...)
	c := w.dial(t)
	c.open()
	tests := []struct {
		name string
		num  proto.RemoteProcedure
		args proto.Message
		got  func(m *frame.Message) any
		want any
	}{
		{"list all domains", proto.RemoteProcConnectListAllDomains, &proto.RemoteConnectListAllDomainsArgs{NeedResults: 1},
			func(m *frame.Message) any {
				r := decodeRet[*proto.RemoteConnectListAllDomainsRet](t, w, m, proto.RemoteProcConnectListAllDomains)
				return [2]any{slices.Clone(domainNames(r.Domains)), r.Ret}
			}, [2]any{[]string{"vmA", "vmD"}, uint32(2)}},
		{"count all domains", proto.RemoteProcConnectListAllDomains, &proto.RemoteConnectListAllDomainsArgs{NeedResults: 0, Flags: domainsInactive},
			func(m *frame.Message) any {
				r := decodeRet[*proto.RemoteConnectListAllDomainsRet](t, w, m, proto.RemoteProcConnectListAllDomains)
				return [2]any{len(r.Domains), r.Ret}
			}, [2]any{0, uint32(1)}},
		{"old running IDs", proto.RemoteProcConnectListDomains, &proto.RemoteConnectListDomainsArgs{Maxids: 10},
			func(m *frame.Message) any {
				return decodeRet[*proto.RemoteConnectListDomainsRet](t, w, m, proto.RemoteProcConnectListDomains).IDs
			}, []int32{7}},
		{"old running count", proto.RemoteProcConnectNumOfDomains, &proto.Void{},
			func(m *frame.Message) any {
				return decodeRet[*proto.RemoteConnectNumOfDomainsRet](t, w, m, proto.RemoteProcConnectNumOfDomains).Num
			}, int32(1)},
		{"old defined names", proto.RemoteProcConnectListDefinedDomains, &proto.RemoteConnectListDefinedDomainsArgs{Maxnames: 10},
			func(m *frame.Message) any {
				return decodeRet[*proto.RemoteConnectListDefinedDomainsRet](t, w, m, proto.RemoteProcConnectListDefinedDomains).Names
			}, []string{"vmD"}},
		{"old defined count", proto.RemoteProcConnectNumOfDefinedDomains, &proto.Void{},
			func(m *frame.Message) any {
				return decodeRet[*proto.RemoteConnectNumOfDefinedDomainsRet](t, w, m, proto.RemoteProcConnectNumOfDefinedDomains).Num
			}, int32(1)},
		{"all domain stats", proto.RemoteProcConnectGetAllDomainStats, &proto.RemoteConnectGetAllDomainStatsArgs{},
			func(m *frame.Message) any {
				var names []string
				for _, r := range decodeRet[*proto.RemoteConnectGetAllDomainStatsRet](t, w, m, proto.RemoteProcConnectGetAllDomainStats).RetStats {
					names = append(names, r.Dom.Name)
				}
				return names
			}, []string{"vmA", "vmD"}},
		{"list all networks", proto.RemoteProcConnectListAllNetworks, &proto.RemoteConnectListAllNetworksArgs{NeedResults: 1},
			func(m *frame.Message) any {
				r := decodeRet[*proto.RemoteConnectListAllNetworksRet](t, w, m, proto.RemoteProcConnectListAllNetworks)
				return [2]any{len(r.Nets), r.Nets[0].Name}
			}, [2]any{1, "netA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.got(c.reply(c.sendArgs(tt.num, tt.args)))
			if want := tt.want; !equalAny(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func equalAny(a, b any) bool { return fmtV(a) == fmtV(b) }

func fmtV(v any) string { return fmt.Sprintf("%#v", v) }

func TestListDecidedInOneCheckMany(t *testing.T) {
	w := newWorld(t, Options{}, listed...)
	c := w.dial(t)
	c.open()
	before := len(w.policy.requests())
	if code := c.call(proto.RemoteProcConnectListAllDomains, &proto.RemoteConnectListAllDomainsArgs{NeedResults: 1}); code != 0 {
		t.Fatalf("error %d", code)
	}
	var getattr []string
	for _, r := range w.policy.requests()[before:] {
		if r.Permission.String() == "domain:getattr" {
			getattr = append(getattr, r.Object.Name())
		}
	}
	slices.Sort(getattr)
	if want := []string{"vmA", "vmB", "vmC", "vmD"}; !slices.Equal(getattr, want) {
		t.Errorf("asked domain:getattr on %v, want %v (each once)", getattr, want)
	}
}

func TestEventsFiltered(t *testing.T) {
	w := newWorld(t, Options{}, listed...)
	c := w.dial(t)
	c.open()
	old := c.sendArgs(proto.RemoteProcConnectDomainEventRegisterAny, &proto.RemoteConnectDomainEventRegisterAnyArgs{})
	c.reply(old)
	cb := c.sendArgs(proto.RemoteProcConnectDomainEventCallbackRegisterAny, &proto.RemoteConnectDomainEventCallbackRegisterAnyArgs{})
	var events []*frame.Message
	for seen := false; !seen || len(events) == 0; {
		m := c.recv()
		switch m.Header.Type {
		case frame.Event:
			events = append(events, m)
		case frame.Reply:
			seen = seen || m.Header.Serial == cb
		}
	}
	// Events are passed on in libvirtd's order: vmB's, sent first, would
	// have come before vmA's.
	if len(events) != 1 || events[0].Header.Proc != int32(proto.RemoteProcDomainEventCallbackLifecycle) {
		t.Fatalf("events %v, want only vmA's callback lifecycle event", events)
	}
}

func TestEveryEventNamesOneFilteredObject(t *testing.T) {
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	perms, err := eventPerms(table)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(table.Procedures(proto.Remote), table.Procedures(proto.QEMU)...) {
		msg := p.NewMsg()
		if msg == nil {
			continue
		}
		n := 0
		for ty := range perms {
			n += len(fieldsOf(msg, nonnullType[ty]))
		}
		if n != 1 && !objectless[keyOf(p)] {
			t.Errorf("%s names %d filtered objects, want 1", p.Name(), n)
		}
	}
}
