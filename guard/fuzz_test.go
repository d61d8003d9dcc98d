// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"log/slog"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/internal/ratelimit"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// denyAll denies every request.
type denyAll struct{}

func (denyAll) Name() string                                        { return "deny" }
func (denyAll) Check(context.Context, access.Request) (bool, error) { return false, nil }

// anyDomain answers every lookup by UUID with a domain of that UUID.
type anyDomain struct{}

func (anyDomain) call(_ context.Context, num proto.RemoteProcedure, args, ret proto.Message) error {
	if a, ok := args.(*proto.RemoteDomainLookupByUUIDArgs); ok {
		ret.(*proto.RemoteDomainLookupByUUIDRet).Dom = proto.RemoteNonnullDomain{Name: "x", UUID: a.UUID}
		return nil
	}
	return errUnsupported
}

// FuzzCallDecision runs a frame from a client through what the guard does
// with a call: frame parsing, the procedure table, strict decoding and
// the decision, under a policy that denies everything. A call may then
// pass only if no @acl rule applies to it (or it is a lookup, checked on
// the reply); it must never panic.
func FuzzCallDecision(f *testing.F) {
	table, err := proto.NewTable()
	if err != nil {
		f.Fatal(err)
	}
	e, err := access.New(access.Options{Drivers: []access.Driver{denyAll{}}})
	if err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	seed := func(prog proto.Program, num int32, args proto.Message) {
		body, err := proto.Marshal(args)
		if err != nil {
			f.Fatal(err)
		}
		m := &frame.Message{Header: frame.Header{Prog: uint32(prog), Vers: 1, Proc: num, Type: frame.Call, Serial: 7}, Body: body}
		b, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(proto.Remote, int32(proto.RemoteProcDomainCreate), &proto.RemoteDomainCreateArgs{Dom: vmA})
	seed(proto.Remote, int32(proto.RemoteProcDomainGetXMLDesc), &proto.RemoteDomainGetXMLDescArgs{Dom: vmA, Flags: 1})
	seed(proto.Remote, int32(proto.RemoteProcDomainLookupByName), &proto.RemoteDomainLookupByNameArgs{Name: "vmA"})
	seed(proto.Remote, int32(proto.RemoteProcDomainDefineXMLFlags), &proto.RemoteDomainDefineXMLFlagsArgs{XML: "<domain><name>a</name><uuid>a0000000000040008000000000000000</uuid></domain>"})
	seed(proto.Remote, int32(proto.RemoteProcStorageVolCreateXML), &proto.RemoteStorageVolCreateXMLArgs{XML: "<volume><name>v</name></volume>"})
	seed(proto.Remote, int32(proto.RemoteProcNwfilterBindingCreateXML), &proto.RemoteNwfilterBindingCreateXMLArgs{XML: "<filterbinding><portdev name='v'/></filterbinding>"})
	seed(proto.Remote, int32(proto.RemoteProcInterfaceDefineXML), &proto.RemoteInterfaceDefineXMLArgs{XML: "<interface type='ethernet' name='e'/>"})
	seed(proto.Remote, int32(proto.RemoteProcNodeDeviceCreateXML), &proto.RemoteNodeDeviceCreateXMLArgs{XMLDesc: "<device/>"})
	seed(proto.Remote, int32(proto.RemoteProcDomainDefineXML), &proto.RemoteDomainDefineXMLArgs{XML: "<domain><name>a"})
	seed(proto.Remote, int32(proto.RemoteProcConnectListAllDomains), &proto.RemoteConnectListAllDomainsArgs{NeedResults: 1})
	seed(proto.QEMU, 1, &proto.QEMUDomainMonitorCommandArgs{Dom: vmA, Cmd: "x"})
	self := proc.Process{PID: 1, UID: 1000, StartTime: 1}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := frame.Parse(data)
		if err != nil || m.Header.Check() != nil {
			return
		}
		p, ok := table.Lookup(proto.Program(m.Header.Prog), m.Header.Proc)
		if !ok {
			return
		}
		args, err := p.DecodeArgs(m.Body)
		if err != nil {
			return
		}
		c := &checker{engine: e, subject: self, objects: newObjects(anyDomain{}, "QEMU"),
			log: slog.New(slog.DiscardHandler), limit: ratelimit.New(ratelimit.WarnEvery, nil)}
		if c.checkCall(context.Background(), p, args) != nil || lookupProcs[keyOf(p)] {
			return
		}
		for _, r := range p.Rules() {
			if applies, err := r.Applies(args); err != nil || applies {
				t.Fatalf("%s allowed under a deny-all policy although rule %s applies (%v)", p, r, err)
			}
		}
	})
}
