// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/policy"
)

func TestCreateGrantParse(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // error prefix; "" for none
	}{
		{"user", "[[grant]]\nrole = \"operator\"\nuser = \"carol\"\ndomain = \"new\"\n", ""},
		{"group", "[[grant]]\nrole = \"viewer\"\ngroup = \"vmops\"\ndomain = \"new\"\n", ""},
		{"network", "[[grant]]\nrole = \"operator\"\nuser = \"carol\"\nnetwork = \"new\"\n", `f.toml:4: network = "new": only domains are created by their owners`},
		{"pool", "[[grant]]\nrole = \"operator\"\nuser = \"carol\"\n\nstorage_pool = \"new\"\n", `f.toml:5: storage_pool = "new": only domains`},
		{"upper case", "[[grant]]\nrole = \"operator\"\nuser = \"carol\"\ndomain = \"NEW\"\n", `f.toml:4: domain: malformed UUID "NEW"`},
		{"role without domain permissions", "[role.host]\nconnect = [\"getattr\"]\nnetwork = [\"start\"]\n[[grant]]\nrole = \"host\"\nuser = \"carol\"\ndomain = \"new\"\n",
			`f.toml:5: role "host" has no domain permissions`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := Parse([]string{"f.toml"}, map[string][]byte{"f.toml": []byte(tt.text)}, accts)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if g := pol.Grants[0]; !g.Creates() || g.Object != (Object{acl.Domain, New}) {
					t.Errorf("grant = %+v, want a create grant", g)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestCreator(t *testing.T) {
	text := "[[grant]]\nrole = \"viewer\"\nuser = \"dave\"\ndomain = \"*\"\n" +
		"[[grant]]\nrole = \"operator\"\nuser = \"carol\"\ndomain = \"new\"\n" +
		"[[grant]]\nrole = \"admin\"\ngroup = \"vmops\"\ndomain = \"new\"\n"
	pol, err := Parse([]string{"f.toml"}, map[string][]byte{"f.toml": []byte(text)}, accts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		who  Who
		want string // role; "" for none
	}{
		{Who{User: "carol"}, "operator"},
		{Who{User: "carol", Groups: []string{"vmops"}}, "operator"}, // the first in file order
		{Who{User: "eve", Groups: []string{"vmops"}}, "admin"},
		{Who{User: "dave"}, ""}, // a grant on every domain is no create grant
	}
	for _, tt := range tests {
		g, ok := pol.Creator(tt.who)
		if ok != (tt.want != "") || g.Role != tt.want {
			t.Errorf("Creator(%+v) = %q %v, want %q", tt.who, g.Role, ok, tt.want)
		}
	}
}

func TestStrangers(t *testing.T) {
	pol := testPolicy(t)
	tests := []struct {
		uuid, user string
		want       int
	}{
		{uuidCarol, "carol", 0},
		{uuidCarol, "dave", 1},
		{uuidShared, "dave", 1}, // a group grant reaches others
		{"44444444-4444-4444-8444-444444444444", "carol", 0},
	}
	for _, tt := range tests {
		if got := len(pol.Strangers(tt.uuid, tt.user)); got != tt.want {
			t.Errorf("Strangers(%s, %s) = %d grants, want %d", tt.uuid, tt.user, got, tt.want)
		}
	}
}

func TestRenderCreateGrant(t *testing.T) {
	text := string(Render(testPolicy(t)).Text)
	for _, want := range []string{
		`var createOwn = "` + policy.ActionCreateOwn + `";`,
		`action.id !== createOwn`,
		`{role: "operator", user: null, group: "vmops", prefix: "org.libvirt.api.domain.", key: "domain_uuid", uuid: "new"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered rule lacks %s", want)
		}
	}
}
