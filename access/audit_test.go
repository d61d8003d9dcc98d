// SPDX-License-Identifier: Apache-2.0

package access

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

func TestAuditRecord(t *testing.T) {
	vm := domainObj(t, "demo", 7)
	pool, err := acl.NewObject(acl.StoragePool, "storage", map[string]string{
		"pool_name": "default", "pool_uuid": "00000000-0000-0000-0000-000000000009"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		req        Request
		dec        Decision
		wantVM     string
		wantUUID   string
		wantReason string
		wantProxy  *audit.Requester
	}{
		{"granted domain", Request{Subject: subject, Object: vm, Permission: permission(t, acl.Domain, "start")},
			Decision{Allowed: true, Driver: "polkit", Cached: true}, "demo", vm.UUID(), "", nil},
		{"unavailable", Request{Subject: subject, Object: vm, Permission: permission(t, acl.Domain, "stop")},
			Decision{Reason: Unavailable, Driver: "polkit"}, "demo", vm.UUID(), "unavailable", nil},
		{"guarded by a front end", Request{Subject: subject, Object: vm, Permission: permission(t, acl.Domain, "start"),
			Origin: Origin{FrontEnd: "libvirt-guard", Operation: "DOMAIN_CREATE"}},
			Decision{Allowed: true, Driver: "polkit"}, "demo", vm.UUID(), "", nil},
		{"asked by a proxy", Request{Subject: subject, Object: vm, Permission: permission(t, acl.Domain, "start"),
			Origin: Origin{Requester: &proc.Process{PID: 7, UID: 0, Exe: "/usr/sbin/proxy"}}},
			Decision{Allowed: true, Driver: "polkit"}, "demo", vm.UUID(), "", &audit.Requester{PID: 7, UID: 0, Exe: "/usr/sbin/proxy"}},
		{"pool has no vm field", Request{Subject: subject, Object: pool, Permission: permission(t, acl.StoragePool, "refresh")},
			Decision{Reason: Policy, Driver: "polkit"}, "", "", "policy", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := AuditRecord(tt.req, tt.dec)
			want := audit.Record{
				Granted: tt.dec.Allowed, Reason: tt.wantReason,
				Permission: tt.req.Permission.Name(), ActionID: tt.req.Permission.ActionID(),
				ObjectType: tt.req.Object.Type().String(), VMName: tt.wantVM, UUID: tt.wantUUID,
				PID: int(subject.PID), UID: subject.UID, AUID: subject.LoginUID, Session: subject.Session,
				Driver: tt.dec.Driver, Cached: tt.dec.Cached,
				FrontEnd: tt.req.Origin.FrontEnd, Operation: tt.req.Origin.Operation, Requester: tt.wantProxy,
			}
			got := rec
			got.Details = nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("record\n got %+v\nwant %+v", got, want)
			}
			if len(rec.Details) != len(tt.req.Object.Details()) || rec.Details[0].Key != acl.DriverKey {
				t.Errorf("details %v", rec.Details)
			}
		})
	}
}

func TestAuditToTakesBatches(t *testing.T) {
	if _, ok := AuditTo(nil).(BatchAuditor); !ok {
		t.Error("the kernel audit writer's Auditor does not take batches: CheckMany would wait for level 2 records one by one")
	}
}

// TestRecordBuilderSharesOnlyWhatIsShared builds the records of a list,
// as AuditMany does, and checks each against AuditRecord's: the action
// id follows a change of permission or action, the requester a change of
// proxy, and no record's details run into the next one's, whatever the
// chunk size (appending to one must not change another).
func TestRecordBuilderSharesOnlyWhatIsShared(t *testing.T) {
	pool, err := acl.NewObject(acl.StoragePool, "storage", map[string]string{
		"pool_name": "default", "pool_uuid": "00000000-0000-0000-0000-000000000009"})
	if err != nil {
		t.Fatal(err)
	}
	start, stop := permission(t, acl.Domain, "start"), permission(t, acl.Domain, "stop")
	proxyA := &proc.Process{PID: 7, Exe: "/usr/sbin/a"}
	proxyB := &proc.Process{PID: 8, UID: 5, Exe: "/usr/sbin/b"}
	var reqs []Request
	for i := range 10 {
		r := Request{Subject: subject, Object: domainObj(t, fmt.Sprintf("vm%d", i), i), Permission: start}
		switch {
		case i == 3:
			r.Permission = stop
		case i == 4:
			r.Action = HelperActionPrefix + "domain.create-own"
		case i == 5:
			r.Object = domainObj(t, "vm5", 5).Anonymous()
		case i >= 6 && i < 8:
			r.Origin.Requester = proxyA
		case i >= 8:
			r.Origin.Requester = proxyB
		}
		reqs = append(reqs, r)
	}
	reqs = append(reqs, Request{Subject: subject, Object: pool, Permission: permission(t, acl.StoragePool, "refresh")},
		Request{Subject: subject}) // a refusal: no object, no permission
	for _, chunk := range []int{0, 1, 4, detailsChunk} {
		t.Run(fmt.Sprintf("chunk %d", chunk), func(t *testing.T) {
			b := recordBuilder{chunk: chunk}
			var got []audit.Record
			for i, r := range reqs {
				got = append(got, b.record(r, Decision{Allowed: i%2 == 0, Reason: Policy, Driver: "polkit"}))
			}
			for i, r := range reqs {
				want := AuditRecord(r, Decision{Allowed: i%2 == 0, Reason: Policy, Driver: "polkit"})
				if !reflect.DeepEqual(got[i], want) {
					t.Errorf("record %d\n got %+v\nwant %+v", i, got[i], want)
				}
				if n := len(got[i].Details); n > 0 {
					if d := append(got[i].Details, audit.Detail{Key: "x"}); i+1 < len(got) && len(got[i+1].Details) > 0 &&
						&d[n] == &got[i+1].Details[0] {
						t.Errorf("record %d's details run into record %d's", i, i+1)
					}
				}
			}
		})
	}
}
