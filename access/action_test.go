// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// TestHelperAction: a request naming a helper action asks the drivers
// that action and is cached apart from the permission's own question.
func TestHelperAction(t *testing.T) {
	const createOwn = HelperActionPrefix + "domain.create-own"
	var asked []string
	drv := &scripted{name: "polkit", answer: func(r Request) (bool, error) {
		asked = append(asked, r.ActionID())
		return r.Action != "", nil
	}}
	aud := &recorder{}
	e := newEngine(t, 16, aud, drv)
	vm := domainObj(t, "new-vm", 7)
	write := permission(t, acl.Domain, "write")
	tests := []struct {
		action string
		want   bool
	}{
		{"", false}, {createOwn, true}, {createOwn, true}, {"", false},
	}
	for i, tt := range tests {
		d, err := e.Check(context.Background(), Request{Subject: subject, Object: vm, Permission: write, Action: tt.action})
		if err != nil || d.Allowed != tt.want {
			t.Fatalf("check %d (%q) = %+v, %v; want allowed %v", i, tt.action, d, err, tt.want)
		}
	}
	if want := []string{write.ActionID(), createOwn}; len(asked) != 2 || asked[0] != want[0] || asked[1] != want[1] {
		t.Errorf("drivers asked %q, want %q (then both from the cache)", asked, want)
	}
	rec := AuditRecord(Request{Subject: subject, Object: vm, Permission: write, Action: createOwn}, Decision{Allowed: true})
	if rec.ActionID != createOwn {
		t.Errorf("audit record names action %q, want %q", rec.ActionID, createOwn)
	}
}
