// SPDX-License-Identifier: Apache-2.0

package acl

import (
	"strings"
	"testing"
)

const testUUID = "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"

func TestNewObject(t *testing.T) {
	long := strings.Repeat("a", MaxValueLen+1)
	tests := []struct {
		name    string
		typ     ObjectType
		driver  string
		attrs   map[string]string
		wantErr string // "" for success
	}{
		{"domain", Domain, "QEMU", map[string]string{"domain_name": "demo", "domain_uuid": testUUID}, ""},
		{"connect", Connect, "QEMU", nil, ""},
		{"name with spaces and quotes", Domain, "QEMU", map[string]string{"domain_name": `a b"c`, "domain_uuid": testUUID}, ""},
		{"interface", Interface, "interface", map[string]string{"interface_name": "eth0", "interface_macaddr": "52:54:00:AB:cd:ef"}, ""},
		{"binding without linkdev", NWFilterBinding, "NWFilter", map[string]string{"nwfilter_binding_portdev": "vnet0", "nwfilter_binding_filter": "clean-traffic"}, ""},
		{"secret with usage", Secret, "secret", map[string]string{"secret_uuid": testUUID, "secret_usage_ceph": "client.admin"}, ""},
		{"missing driver", Domain, "", map[string]string{"domain_name": "demo", "domain_uuid": testUUID}, "missing connect_driver"},
		{"bad driver", Domain, "QE MU", map[string]string{"domain_name": "demo", "domain_uuid": testUUID}, "malformed connect_driver"},
		{"missing uuid", Domain, "QEMU", map[string]string{"domain_name": "demo"}, "missing attribute domain_uuid"},
		{"malformed uuid", Domain, "QEMU", map[string]string{"domain_name": "demo", "domain_uuid": "not-a-uuid"}, "malformed UUID"},
		{"uuid without dashes", Domain, "QEMU", map[string]string{"domain_name": "demo", "domain_uuid": strings.ReplaceAll(testUUID, "-", "")}, "malformed UUID"},
		{"unknown attribute", Domain, "QEMU", map[string]string{"domain_name": "demo", "domain_uuid": testUUID, "domain_owner": "x"}, `unknown attribute "domain_owner" (valid: domain_name, domain_uuid)`},
		{"attribute of another type", Connect, "QEMU", map[string]string{"domain_name": "demo"}, "takes none"},
		{"driver as attribute", Connect, "QEMU", map[string]string{"connect_driver": "LXC"}, "unknown attribute"},
		{"empty name", Domain, "QEMU", map[string]string{"domain_name": "", "domain_uuid": testUUID}, "domain_name: empty value"},
		{"oversized name", Domain, "QEMU", map[string]string{"domain_name": long, "domain_uuid": testUUID}, "exceeds the limit"},
		{"control character", Domain, "QEMU", map[string]string{"domain_name": "a\nb", "domain_uuid": testUUID}, "control character"},
		{"NUL", Domain, "QEMU", map[string]string{"domain_name": "a\x00b", "domain_uuid": testUUID}, "control character"},
		{"invalid UTF-8", Domain, "QEMU", map[string]string{"domain_name": "a\xffb", "domain_uuid": testUUID}, "not valid UTF-8"},
		{"bad MAC", Interface, "interface", map[string]string{"interface_name": "eth0", "interface_macaddr": "52:54:00:ab:cd"}, "malformed MAC"},
		{"interface without a MAC (libvirt's NULL detail)", Interface, "interface", map[string]string{"interface_name": "br0", "interface_macaddr": NullDetail}, ""},
		{"two secret usages", Secret, "secret", map[string]string{"secret_uuid": testUUID, "secret_usage_ceph": "a", "secret_usage_name": "b"}, "at most one"},
		{"invalid type", 0, "QEMU", nil, "invalid object type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := NewObject(tt.typ, tt.driver, tt.attrs)
			if tt.wantErr == "" {
				if err != nil || !o.Valid() {
					t.Fatalf("NewObject: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewObject error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestObjectCanonicalForm(t *testing.T) {
	o, err := NewObject(Domain, "QEMU", map[string]string{"domain_uuid": strings.ToUpper(testUUID), "domain_name": "demo"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Detail{{"connect_driver", "QEMU"}, {"domain_name", "demo"}, {"domain_uuid", testUUID}}
	got := o.Details()
	if len(got) != len(want) {
		t.Fatalf("Details() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Details()[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if o.Name() != "demo" || o.UUID() != testUUID {
		t.Errorf("Name, UUID = %q, %q", o.Name(), o.UUID())
	}
	if n := o.DetailCount(); n != len(want) {
		t.Errorf("DetailCount() = %d, want %d", n, len(want))
	}
	var all []Detail
	for k, v := range o.AllDetails() {
		all = append(all, Detail{k, v})
		break // a caller that stops early is not yielded to again
	}
	if len(all) != 1 || all[0] != want[0] {
		t.Errorf("AllDetails, stopped after the first = %v, want %v", all, want[:1])
	}
}

func TestIdentityAndKey(t *testing.T) {
	mk := func(typ ObjectType, driver string, attrs map[string]string) Object {
		t.Helper()
		o, err := NewObject(typ, driver, attrs)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	a := mk(Domain, "QEMU", map[string]string{"domain_name": "a", "domain_uuid": testUUID})
	renamed := mk(Domain, "QEMU", map[string]string{"domain_name": "b", "domain_uuid": testUUID})
	otherDriver := mk(Domain, "LXC", map[string]string{"domain_name": "a", "domain_uuid": testUUID})
	network := mk(Network, "QEMU", map[string]string{"network_name": "a", "network_uuid": testUUID})

	if a.Identity() != renamed.Identity() {
		t.Error("the same UUID must be the same object whatever its name")
	}
	if a.Key() == renamed.Key() {
		t.Error("a rule may look at domain_name: different names must not share a cache key")
	}
	for _, other := range []Object{otherDriver, network} {
		if a.Identity() == other.Identity() || a.Key() == other.Key() {
			t.Errorf("%v and %v share an identity or key", a.Identity(), other.Identity())
		}
	}
	// Length prefixes keep values from imitating field boundaries.
	x := mk(NWFilterBinding, "NWFilter", map[string]string{"nwfilter_binding_portdev": "a", "nwfilter_binding_linkdev": "1:b", "nwfilter_binding_filter": "c"})
	y := mk(NWFilterBinding, "NWFilter", map[string]string{"nwfilter_binding_portdev": "a1:", "nwfilter_binding_linkdev": "b", "nwfilter_binding_filter": "c"})
	if x.Key() == y.Key() {
		t.Error("distinct bindings share a key")
	}
}

func FuzzNewObject(f *testing.F) {
	f.Add(uint8(Domain), "QEMU", "domain_name", "demo", "domain_uuid", testUUID)
	f.Add(uint8(Interface), "interface", "interface_name", "eth0", "interface_macaddr", "52:54:00:ab:cd:ef")
	f.Add(uint8(Secret), "secret", "secret_uuid", testUUID, "secret_usage_name", "x\x00")
	f.Add(uint8(0), "", "", "", "", "")
	f.Fuzz(func(t *testing.T, typ uint8, driver, k1, v1, k2, v2 string) {
		o, err := NewObject(ObjectType(typ), driver, map[string]string{k1: v1, k2: v2})
		if err != nil {
			return
		}
		if !o.Valid() {
			t.Fatal("accepted object is invalid")
		}
		// Whatever was accepted must survive a second validation unchanged.
		attrs := map[string]string{}
		for _, d := range o.Details()[1:] {
			attrs[d.Key] = d.Value
		}
		again, err := NewObject(o.Type(), o.Driver(), attrs)
		if err != nil || again.Key() != o.Key() {
			t.Fatalf("canonical form not stable: %v", err)
		}
	})
}

func TestAnonymous(t *testing.T) {
	vm, err := NewObject(Domain, "QEMU", map[string]string{"domain_name": "vm1", "domain_uuid": "6695eb01-f6a4-8304-79aa-97f2502e193f"})
	if err != nil {
		t.Fatal(err)
	}
	a := vm.Anonymous()
	if !a.Valid() || a.Type() != Domain || a.Driver() != "QEMU" || a.Name() != "" || a.UUID() != "" {
		t.Errorf("Anonymous() = %+v", a)
	}
	if want, got := []Detail{{DriverKey, "QEMU"}}, a.Details(); len(got) != 1 || got[0] != want[0] {
		t.Errorf("details %v, want %v", got, want)
	}
	if a.Key() == vm.Key() || a.Identity() == vm.Identity() {
		t.Error("the anonymous object shares the named object's key or identity")
	}
	if other, _ := NewObject(Domain, "QEMU", map[string]string{"domain_name": "vm2", "domain_uuid": "6695eb01-f6a4-8304-79aa-97f2502e1930"}); other.Anonymous().Key() != a.Key() {
		t.Error("two objects of one type and driver have different anonymous keys")
	}
}

// BenchmarkNewObject validates a domain as a client names it, the work
// done for each object of a CheckMany.
func BenchmarkNewObject(b *testing.B) {
	attrs := map[string]string{"domain_name": "web01", "domain_uuid": "6D8F3C4E-0B1A-4C2D-9E8F-112233445566"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewObject(Domain, "QEMU", attrs); err != nil {
			b.Fatal(err)
		}
	}
}
