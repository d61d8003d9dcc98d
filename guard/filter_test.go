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
		// libvirtd cuts the list to the client's maximum.
		return &proto.RemoteConnectListDefinedDomainsRet{Names: []string{defC.Name, defD.Name}[:min(2, a.Maxnames)]}, nil
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

// listCase is a list call and what the client must get: got picks the
// part of the decoded reply to compare with want (by %#v).
type listCase struct {
	name string
	num  proto.RemoteProcedure
	args proto.Message
	got  func(ret proto.Message) any
	want any
}

// openWorld is a guard with the policy allowing allow, and a client of
// it whose connection is open.
func openWorld(t *testing.T, allow []string) (*world, *client) {
	t.Helper()
	w := newWorld(t, Options{}, allow...)
	c := w.dial(t)
	c.open()
	return w, c
}

// checkLists makes each call through a guard allowing allow.
func checkLists(t *testing.T, allow []string, cases []listCase) {
	w, c := openWorld(t, allow)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			m := c.reply(c.sendArgs(tt.num, tt.args))
			if code := errCode(t, m); code != 0 {
				t.Fatalf("error %d", code)
			}
			p, _ := w.up.table.Lookup(proto.Remote, int32(tt.num))
			ret, err := p.DecodeRet(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fmtV(tt.got(ret)), fmtV(tt.want); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func fmtV(v any) string { return fmt.Sprintf("%#v", v) }

// whole compares a reply whole.
func whole(ret proto.Message) any { return fmtV(ret) }

func domainNames(ds []proto.RemoteNonnullDomain) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return out
}

func TestListsFiltered(t *testing.T) {
	checkLists(t, listed, []listCase{
		{"list all domains", proto.RemoteProcConnectListAllDomains, &proto.RemoteConnectListAllDomainsArgs{NeedResults: 1},
			func(ret proto.Message) any {
				r := ret.(*proto.RemoteConnectListAllDomainsRet)
				return [2]any{domainNames(r.Domains), r.Ret}
			}, [2]any{[]string{"vmA", "vmD"}, uint32(2)}},
		{"count all domains", proto.RemoteProcConnectListAllDomains, &proto.RemoteConnectListAllDomainsArgs{NeedResults: 0, Flags: domainsInactive},
			func(ret proto.Message) any {
				r := ret.(*proto.RemoteConnectListAllDomainsRet)
				return [2]any{len(r.Domains), r.Ret}
			}, [2]any{0, uint32(1)}},
		{"old running IDs", proto.RemoteProcConnectListDomains, &proto.RemoteConnectListDomainsArgs{Maxids: 10},
			func(ret proto.Message) any { return ret.(*proto.RemoteConnectListDomainsRet).IDs }, []int32{7}},
		{"old running count", proto.RemoteProcConnectNumOfDomains, &proto.Void{},
			func(ret proto.Message) any { return ret.(*proto.RemoteConnectNumOfDomainsRet).Num }, int32(1)},
		{"old defined names", proto.RemoteProcConnectListDefinedDomains, &proto.RemoteConnectListDefinedDomainsArgs{Maxnames: 10},
			func(ret proto.Message) any { return ret.(*proto.RemoteConnectListDefinedDomainsRet).Names }, []string{"vmD"}},
		{"old defined names, as many as the count", proto.RemoteProcConnectListDefinedDomains, &proto.RemoteConnectListDefinedDomainsArgs{Maxnames: 1},
			func(ret proto.Message) any { return ret.(*proto.RemoteConnectListDefinedDomainsRet).Names }, []string{"vmD"}},
		{"old defined names, none asked", proto.RemoteProcConnectListDefinedDomains, &proto.RemoteConnectListDefinedDomainsArgs{Maxnames: 0},
			func(ret proto.Message) any { return ret.(*proto.RemoteConnectListDefinedDomainsRet).Names }, []string{}},
		{"old defined count", proto.RemoteProcConnectNumOfDefinedDomains, &proto.Void{},
			func(ret proto.Message) any { return ret.(*proto.RemoteConnectNumOfDefinedDomainsRet).Num }, int32(1)},
		{"all domain stats", proto.RemoteProcConnectGetAllDomainStats, &proto.RemoteConnectGetAllDomainStatsArgs{},
			func(ret proto.Message) any {
				var names []string
				for _, r := range ret.(*proto.RemoteConnectGetAllDomainStatsRet).RetStats {
					names = append(names, r.Dom.Name)
				}
				return names
			}, []string{"vmA", "vmD"}},
		{"list all networks", proto.RemoteProcConnectListAllNetworks, &proto.RemoteConnectListAllNetworksArgs{NeedResults: 1},
			func(ret proto.Message) any {
				r := ret.(*proto.RemoteConnectListAllNetworksRet)
				return [2]any{len(r.Nets), r.Nets[0].Name}
			}, [2]any{1, "netA"}},
	})
}

func TestListDecidedInOneCheckMany(t *testing.T) {
	w, c := openWorld(t, listed)
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
	_, c := openWorld(t, listed)
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

// TestEveryEventNamesOneFilteredObject: every event procedure but the
// objectless ones names one object of one type the guard filters on,
// and eventPerm finds its filter permission.
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
		perm, err := eventPerm(p, perms)
		if err != nil || perm.Valid() == objectless[keyOf(p)] {
			t.Errorf("%s: filter permission %v, %v", p.Name(), perm, err)
		}
	}
}
