// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"log/slog"
	"reflect"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/internal/ratelimit"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// replayer answers every lookup with the same reply body.
type replayer struct{ body []byte }

func (r replayer) call(_ context.Context, _ proto.RemoteProcedure, _, ret proto.Message) error {
	return proto.Unmarshal(r.body, ret)
}

// FuzzListFilter filters any reply of every filtered list or count, with
// the guard's own lookups answered by the same bytes, under a policy that
// denies everything: nothing may be left in the list, no count above 0,
// and it must never panic.
func FuzzListFilter(f *testing.F) {
	table, err := proto.NewTable()
	if err != nil {
		f.Fatal(err)
	}
	var procs []*proto.Procedure
	for _, p := range table.Procedures(proto.Remote) {
		if filtersList(p) {
			procs = append(procs, p)
		}
	}
	e, err := access.New(access.Options{Drivers: []access.Driver{denyAll{}}})
	if err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	seed := func(num proto.RemoteProcedure, ret proto.Message) {
		body, err := proto.Marshal(ret)
		if err != nil {
			f.Fatal(err)
		}
		for i, p := range procs {
			if p.Number() == int32(num) {
				f.Add(uint16(i), true, body)
				f.Add(uint16(i), false, body)
			}
		}
	}
	seed(proto.RemoteProcConnectListAllDomains, &proto.RemoteConnectListAllDomainsRet{Domains: []proto.RemoteNonnullDomain{runA, runB}, Ret: 2})
	seed(proto.RemoteProcConnectListDomains, &proto.RemoteConnectListDomainsRet{IDs: []int32{7, 8}})
	seed(proto.RemoteProcConnectGetAllDomainStats, &proto.RemoteConnectGetAllDomainStatsRet{RetStats: []proto.RemoteDomainStatsRecord{{Dom: runA}}})
	seed(proto.RemoteProcConnectListAllSecrets, &proto.RemoteConnectListAllSecretsRet{Secrets: []proto.RemoteNonnullSecret{sec1, sec2}, Ret: 2})
	seed(proto.RemoteProcNodeListDevices, &proto.RemoteNodeListDevicesRet{Names: []string{"devA"}})
	self := proc.Process{PID: 1, UID: 1000, StartTime: 1}
	f.Fuzz(func(t *testing.T, which uint16, results bool, body []byte) {
		p := procs[int(which)%len(procs)]
		ret, err := p.DecodeRet(body)
		if err != nil {
			return
		}
		args := p.NewArgs()
		if f := reflect.ValueOf(args).Elem().FieldByName("NeedResults"); f.IsValid() && results {
			f.SetInt(1)
		}
		c := &checker{engine: e, subject: self, objects: newObjects(replayer{body}, "QEMU"),
			log: slog.New(slog.DiscardHandler), limit: ratelimit.New(ratelimit.WarnEvery, nil)}
		if c.filterRet(context.Background(), p, p.Filters()[0], args, ret) != nil {
			return
		}
		if _, err := proto.Marshal(ret); err != nil {
			t.Fatalf("%s: filtered reply does not encode: %v", p, err)
		}
		if l, ok := objectList(ret, nonnullType[p.Filters()[0].Object()]); ok && l.len() != 0 {
			t.Fatalf("%s: %d objects left under a deny-all policy", p, l.len())
		}
		if l, ok := plainList(ret); ok && l.len() != 0 {
			t.Fatalf("%s: %d names left under a deny-all policy", p, l.len())
		}
		v := reflect.ValueOf(ret).Elem()
		for _, name := range []string{"Num", "Ret"} {
			if f := v.FieldByName(name); f.IsValid() && !f.IsZero() {
				t.Fatalf("%s: %s = %v under a deny-all policy", p, name, f)
			}
		}
	})
}
