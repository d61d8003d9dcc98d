// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// countingLookups answers domain lookups by UUID with vmA and counts
// the calls.
type countingLookups struct{ calls *int }

func (l countingLookups) call(_ context.Context, num proto.RemoteProcedure, _, ret proto.Message) error {
	*l.calls++
	if num != proto.RemoteProcDomainLookupByUUID {
		return fmt.Errorf("unexpected lookup %d", num)
	}
	ret.(*proto.RemoteDomainLookupByUUIDRet).Dom = vmA
	return nil
}

// TestObjectsOneCall checks that the rules of one call are decided on
// one object: found with one lookup, with one fresh UUID where a
// definition has none, and the very domain checkDefined kept.
func TestObjectsOneCall(t *testing.T) {
	newVM := &proto.RemoteDomainDefineXMLArgs{XML: vmXML("vmN", "")}
	tests := []struct {
		name      string
		args      proto.Message
		perms     []string // domain permissions, in the order decided
		keep      bool     // keep the document's domain first, as checkDefined does
		wantCalls int
		wantName  string
	}{
		{"two rules on a domain: one lookup", &proto.RemoteDomainGetXMLDescArgs{Dom: vmA, Flags: 1},
			[]string{"read", "read_secure"}, false, 1, "vmA"},
		{"a definition without uuid: one fresh uuid", newVM, []string{"write", "save"}, false, 0, "vmN"},
		{"a kept definition: decided on the kept domain", newVM, []string{"write", "save"}, true, 0, "vmN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			o := newObjects(countingLookups{&calls}, "QEMU")
			var want acl.Object
			if tt.keep {
				kept, err := o.fromXML(acl.Domain, newVM.XML)
				if err != nil {
					t.Fatal(err)
				}
				o.keep(kept)
				want = kept
			}
			for i, p := range tt.perms {
				perm, err := acl.ParsePermission(acl.Domain, p)
				if err != nil {
					t.Fatal(err)
				}
				obj, err := o.fromArgs(t.Context(), perm, tt.args)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if i == 0 && !tt.keep {
					want = obj
				}
				if obj.Name() != tt.wantName || obj.UUID() != want.UUID() || obj.Key() != want.Key() {
					t.Errorf("%s decided on %s %s, want %s %s", p, obj.Name(), obj.UUID(), tt.wantName, want.UUID())
				}
			}
			if calls != tt.wantCalls {
				t.Errorf("%d lookups, want %d", calls, tt.wantCalls)
			}
		})
	}
}
