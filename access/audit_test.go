// SPDX-License-Identifier: Apache-2.0

package access

import (
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
