// SPDX-License-Identifier: Apache-2.0

package acl

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// seedTables reads libvirt's ACL documentation (testdata, copied from
// libvirt.org/acl.html): one "Permission Description" table per object type,
// in libvirt's type order.
func seedTables(t *testing.T) [][][2]string {
	t.Helper()
	f, err := os.Open("testdata/libvirt-acl-doc.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tables [][][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "Permission Description" {
			tables = append(tables, nil)
			continue
		}
		if len(tables) == 0 || line == "" {
			continue
		}
		name, desc, ok := strings.Cut(line, " ")
		if !ok || strings.ContainsAny(name, ".,") {
			continue
		}
		tables[len(tables)-1] = append(tables[len(tables)-1], [2]string{name, desc})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return tables
}

func TestModelMatchesLibvirtDocumentation(t *testing.T) {
	tables := seedTables(t)
	if got, want := len(tables), len(Types()); got != want {
		t.Fatalf("documentation has %d tables, model has %d object types", got, want)
	}
	total := 0
	for i, typ := range Types() {
		rows := tables[i]
		if got, want := len(typ.Permissions()), len(rows); got != want {
			t.Errorf("%s: model has %d permissions, documentation %d", typ, got, want)
		}
		for _, row := range rows {
			p, err := ParsePermission(typ, row[0])
			if err != nil {
				t.Errorf("%s: documented permission missing from model: %v", typ, err)
				continue
			}
			if p.Description() != row[1] {
				t.Errorf("%s: description %q, documentation says %q", p, p.Description(), row[1])
			}
			total++
		}
	}
	if total != 105 || len(Permissions()) != 105 {
		t.Errorf("documentation has %d permissions and model %d, want 105 each", total, len(Permissions()))
	}
}

func TestAnonymousPermissions(t *testing.T) {
	// libvirt 9.0 viraccessperm.h: the permissions with no authorization.
	want := []string{
		"connect:getattr", "connect:read", "connect:search_domains", "connect:search_interfaces",
		"connect:search_networks", "connect:search_node_devices", "connect:search_nwfilter_bindings",
		"connect:search_nwfilters", "connect:search_secrets", "connect:search_storage_pools",
		"domain:getattr", "domain:read", "interface:getattr", "interface:read",
		"network:getattr", "network:read", "network_port:getattr", "network_port:read",
		"node_device:getattr", "nwfilter:getattr", "nwfilter:read",
		"nwfilter_binding:getattr", "nwfilter_binding:read", "secret:getattr", "secret:read",
		"storage_pool:getattr", "storage_pool:read", "storage_vol:getattr", "storage_vol:read",
	}
	var got []string
	for _, p := range Permissions() {
		if p.Anonymous() {
			got = append(got, p.String())
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("anonymous permissions:\n got %v\nwant %v", got, want)
	}
}

func TestActionIDs(t *testing.T) {
	tests := []struct {
		typ  ObjectType
		perm string
		want string
	}{
		{StoragePool, "search_storage_vols", "org.libvirt.api.storage-pool.search-storage-vols"},
		{NodeDevice, "detach", "org.libvirt.api.node-device.detach"},
		{NWFilterBinding, "create", "org.libvirt.api.nwfilter-binding.create"},
		{Domain, "open-graphics", "org.libvirt.api.domain.open-graphics"},
		{Connect, "search-domains", "org.libvirt.api.connect.search-domains"},
	}
	for _, tt := range tests {
		p, err := ParsePermission(tt.typ, tt.perm)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.ActionID(); got != tt.want {
			t.Errorf("%s: action id %q, want %q", p, got, tt.want)
		}
	}
}

// TestParsePermissionAllocatesNothing: every call over the socket names
// a permission, and every object a type, so parsing valid ones, in
// either spelling, must not allocate.
func TestParsePermissionAllocatesNothing(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		for _, name := range []string{"start", "open-graphics", "open_graphics"} {
			if _, err := ParsePermission(Domain, name); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ParseObjectType("storage-pool"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ParsePermission allocated %v times, want 0", allocs)
	}
}

func TestParseActionRoundTrip(t *testing.T) {
	for _, p := range Permissions() {
		got, err := ParseAction(p.ActionID())
		if err != nil || got != p {
			t.Errorf("ParseAction(%q) = %v, %v; want %v", p.ActionID(), got, err, p)
		}
	}
	for _, bad := range []string{"", "org.libvirt.api.domain", "org.libvirt.api.domain.start_x",
		"org.libvirt.api.domain.frobnicate", "org.libvirt.unix.manage", "org.libvirt.api.vm.start"} {
		if _, err := ParseAction(bad); err == nil {
			t.Errorf("ParseAction(%q) succeeded", bad)
		}
	}
}

func TestParseErrorsNameTheChoices(t *testing.T) {
	tests := []struct {
		name     string
		parse    func() error
		contains []string
	}{
		{"unknown type", func() error { _, err := ParseObjectType("vm"); return err },
			[]string{`"vm"`, "connect", "storage_vol"}},
		{"unknown permission", func() error { _, err := ParsePermission(Domain, "strat"); return err },
			[]string{`"strat"`, "domain", "start", "open_graphics"}},
		{"permission of another type", func() error { _, err := ParsePermission(Network, "open_graphics"); return err },
			[]string{"network", "search_ports"}},
		{"invalid type", func() error { _, err := ParsePermission(0, "start"); return err },
			[]string{"invalid object type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse()
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %s", err, s)
				}
			}
		})
	}
}

func TestParseBothSpellings(t *testing.T) {
	for _, s := range []string{"storage_pool", "storage-pool"} {
		if got, err := ParseObjectType(s); err != nil || got != StoragePool {
			t.Errorf("ParseObjectType(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"search_domains", "search-domains"} {
		p, err := ParsePermission(Connect, s)
		if err != nil || p.Name() != "search_domains" {
			t.Errorf("ParsePermission(connect, %q) = %v, %v", s, p, err)
		}
	}
}

func TestZeroValuesAreInvalid(t *testing.T) {
	var p Permission
	var o Object
	var typ ObjectType
	if p.Valid() || o.Valid() || typ.Valid() {
		t.Error("zero values must be invalid")
	}
}

func TestDefaultDriver(t *testing.T) {
	for _, typ := range Types() {
		d := typ.DefaultDriver()
		if err := checkDriver(d); err != nil {
			t.Errorf("%s: default driver %q: %v", typ, d, err)
		}
	}
	if want, got := "QEMU", Domain.DefaultDriver(); want != got {
		t.Errorf("domain's default driver %q, want %q", got, want)
	}
	if got := ObjectType(0).DefaultDriver(); got != "" {
		t.Errorf("invalid type's default driver %q, want none", got)
	}
}
