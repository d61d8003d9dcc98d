// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"errors"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// fakeAccounts knows a fixed set of users and groups.
type fakeAccounts struct{ users, groups []string }

func (f fakeAccounts) LookupUser(name string) error  { return find(f.users, name) }
func (f fakeAccounts) LookupGroup(name string) error { return find(f.groups, name) }

func find(list []string, name string) error {
	for _, n := range list {
		if n == name {
			return nil
		}
	}
	return errors.New("no such entry")
}

var accts = fakeAccounts{users: []string{"carol", "dave", "root"}, groups: []string{"vmops"}}

const (
	uuidCarol  = "11111111-1111-4111-8111-111111111111"
	uuidDave   = "22222222-2222-4222-8222-222222222222"
	uuidShared = "33333333-3333-4333-8333-333333333333"
)

const mainFile = `# roles of the test host
[role.starter]
description = "start only"
connect = ["getattr"]
domain = ["getattr", "start"]

[[grant]]
role = "operator"
user = "carol"
domain = "11111111-1111-4111-8111-111111111111"
name = "vm-carol"

[[grant]]
role = "operator"
user = "dave"
domain = "22222222-2222-4222-8222-222222222222"
name = "vm-dave"
`

const dropIn = `[[grant]]
role = "starter"
group = "vmops"
domain = "33333333-3333-4333-8333-333333333333"
name = "vm-shared"

[[grant]]
role = "admin"
user = "root"
domain = "*"

[[grant]]
role = "operator"
group = "vmops"
domain = "new"
`

func testPolicy(t *testing.T) *Policy {
	t.Helper()
	pol, err := Parse([]string{"/r/roles.toml", "/r/roles.d/10-team.toml"},
		map[string][]byte{"/r/roles.toml": []byte(mainFile), "/r/roles.d/10-team.toml": []byte(dropIn)}, accts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return pol
}

func perm(t *testing.T, s string) acl.Permission {
	t.Helper()
	typ, name, _ := strings.Cut(s, ":")
	ot, err := acl.ParseObjectType(typ)
	if err != nil {
		t.Fatal(err)
	}
	p, err := acl.ParsePermission(ot, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuiltins(t *testing.T) {
	b := builtins()
	tests := []struct {
		role, perm string
		want       bool
	}{
		{Viewer, "domain:getattr", true},
		{Viewer, "domain:start", false},
		{Operator, "domain:read", true},
		{Operator, "domain:start", true},
		{Operator, "domain:stop", true},
		{Operator, "domain:reset", true},
		{Operator, "domain:open_device", true},
		{Operator, "domain:open_graphics", true},
		{Operator, "domain:write", false},
		{Operator, "domain:delete", false},
		{Operator, "connect:write", false},
		{Operator, "network:start", true},
		{Admin, "domain:write", true},
		{Admin, "domain:delete", true},
		{Admin, "storage_pool:delete", true},
		{Admin, "connect:search_domains", true},
		{Admin, "connect:write", false},
		{Admin, "connect:pm_control", false},
	}
	for _, tt := range tests {
		if got := b[tt.role].Has(perm(t, tt.perm)); got != tt.want {
			t.Errorf("%s has %s = %v, want %v", tt.role, tt.perm, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unknown permission", "[role.x]\nconnect = [\"getattr\"]\ndomain = [\"start\", \"fly\"]\n", `f.toml:3: role "x": unknown permission "fly" for domain`},
		{"unknown role key", "[role.x]\ndomain = [\"start\"]\nsecret = [\"read\"]\n", "f.toml:3: unknown key role.x.secret"},
		{"unknown top key", "\n\nowner = \"me\"\n", "f.toml:3: unknown key owner"},
		{"unknown user", "[[grant]]\nrole = \"viewer\"\nuser = \"mallory\"\ndomain = \"*\"\n", `f.toml:3: unknown user "mallory"`},
		{"unknown group", "[[grant]]\nrole = \"viewer\"\n\ngroup = \"nogroup\"\ndomain = \"*\"\n", `f.toml:4: unknown group "nogroup"`},
		{"unknown role", "[[grant]]\nrole = \"viewer\"\nuser = \"carol\"\ndomain = \"*\"\n[[grant]]\nrole = \"boss\"\nuser = \"carol\"\ndomain = \"*\"\n", `f.toml:6: unknown role "boss"`},
		{"bad uuid", "[[grant]]\nrole = \"viewer\"\nuser = \"carol\"\ndomain = \"vm-carol\"\n", `f.toml:4: domain: malformed UUID "vm-carol"`},
		{"no object", "[[grant]]\nrole = \"viewer\"\nuser = \"carol\"\n", "f.toml:1: a grant names exactly one object"},
		{"two objects", "[[grant]]\nrole = \"viewer\"\nuser = \"carol\"\ndomain = \"*\"\nnetwork = \"*\"\n", "f.toml:1: a grant names exactly one object"},
		{"user and group", "[[grant]]\nrole = \"viewer\"\nuser = \"carol\"\ngroup = \"vmops\"\ndomain = \"*\"\n", "f.toml:1: a grant names exactly one of user and group"},
		{"unknown object type", "[[grant]]\nrole = \"viewer\"\nuser = \"carol\"\nsecret = \"*\"\n", "f.toml:4: unknown key grant.secret"},
		{"wrong type", "[role.x]\ndomain = \"start\"\n", "f.toml:2:"},
		{"syntax", "[role.x\n", "f.toml:1:"},
		{"empty role", "[role.x]\ndescription = \"nothing\"\n", `f.toml:1: role "x" has no permissions`},
		{"redefined builtin", "\n[role.admin]\ndomain = [\"start\"]\n", `f.toml:2: role "admin" is already defined (built-in)`},
		{"bad role name", "[role.\"a b\"]\ndomain = [\"start\"]\n", `f.toml:1: role name "a b"`},
		{"proto role name", "[role.__proto__]\ndomain = [\"start\"]\n", `f.toml:1: role name "__proto__"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]string{"f.toml"}, map[string][]byte{"f.toml": []byte(tt.text)}, accts)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestRedefinedAcrossFiles(t *testing.T) {
	a := "[role.x]\ndomain = [\"start\"]\n"
	b := "# b\n[role.x]\ndomain = [\"stop\"]\n"
	_, err := Parse([]string{"a.toml", "b.toml"}, map[string][]byte{"a.toml": []byte(a), "b.toml": []byte(b)}, accts)
	if want := `b.toml:2: role "x" is already defined (a.toml:1)`; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestParse(t *testing.T) {
	pol := testPolicy(t)
	if got := len(pol.Grants); got != 5 {
		t.Fatalf("%d grants, want 5", got)
	}
	g := pol.Grants[2]
	want := Grant{Role: "starter", Subject: Subject{Group: "vmops"}, Object: Object{acl.Domain, uuidShared},
		Name: "vm-shared", Source: Pos{"/r/roles.d/10-team.toml", 1}}
	if g != want {
		t.Errorf("grant 2 = %+v, want %+v", g, want)
	}
	if got := pol.Roles["starter"].Source.String(); got != "/r/roles.toml:2" {
		t.Errorf("starter defined at %s", got)
	}
}
