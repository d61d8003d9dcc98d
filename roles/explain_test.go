// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	pol := testPolicy(t)
	carol := Who{User: "carol"}
	dave := Who{User: "dave", Groups: []string{"vmops"}}
	root := Who{User: "root"}
	tests := []struct {
		name string
		who  Who
		perm string
		uuid string
		want string // prefix of the explanation
	}{
		{"own vm start", carol, "domain:start", uuidCarol, "allowed by the grant at /r/roles.toml:7: role operator (built-in) to user carol on domain " + uuidCarol + " (vm-carol)"},
		{"own vm console", carol, "domain:open_device", uuidCarol, "allowed by the grant at /r/roles.toml:7"},
		{"own vm define", carol, "domain:write", uuidCarol, "not granted by any role: later polkit rules decide, else the action's default: deny"},
		{"own vm undefine", carol, "domain:delete", uuidCarol, "not granted"},
		{"other's vm", carol, "domain:start", uuidDave, "not granted"},
		{"shared vm without group", carol, "domain:start", uuidShared, "not granted"},
		{"shared vm by group", dave, "domain:start", uuidShared, "allowed by the grant at /r/roles.d/10-team.toml:1: role starter (/r/roles.toml:2) to group vmops"},
		{"shared vm stop not in role", dave, "domain:stop", uuidShared, "not granted"},
		{"connect permission", carol, "connect:getattr", "", "allowed by the grant at /r/roles.toml:7"},
		{"anonymous fallback", carol, "domain:getattr", uuidDave, "not granted by any role: later polkit rules decide, else the action's default: allow"},
		{"admin any domain", root, "domain:delete", uuidDave, "allowed by the grant at /r/roles.d/10-team.toml:7: role admin (built-in) to user root on every domain"},
		{"admin not network", root, "network:delete", uuidDave, "not granted"},
		{"admin not host", root, "connect:write", "", "not granted"},
		{"create grant gives no connect permission", Who{User: "eve", Groups: []string{"vmops"}}, "connect:search_domains", "", "not granted"},
		{"create grant gives nothing on a domain", Who{User: "eve", Groups: []string{"vmops"}}, "domain:start", "new", "not granted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pol.Explain(Request{Who: tt.who, Perm: perm(t, tt.perm), UUID: tt.uuid}).String()
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("Explain = %q, want prefix %q", got, tt.want)
			}
		})
	}
}

func TestShow(t *testing.T) {
	pol := testPolicy(t)
	tests := []struct {
		who  Who
		want []string // grants, as String
	}{
		{Who{User: "carol"}, []string{"operator to user carol on domain " + uuidCarol + " (vm-carol)"}},
		{Who{User: "dave", Groups: []string{"vmops"}}, []string{
			"operator to user dave on domain " + uuidDave + " (vm-dave)",
			"starter to group vmops on domain " + uuidShared + " (vm-shared)",
			"operator to group vmops on each new domain they create"}},
		{Who{User: "eve"}, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, e := range pol.Show(tt.who) {
			got = append(got, e.Grant.String())
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Show(%s) = %q, want %q", tt.who.User, got, tt.want)
		}
	}
}
