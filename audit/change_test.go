// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"strings"
	"testing"
)

func TestFormatChange(t *testing.T) {
	tests := []struct {
		name string
		c    Change
		want string // the text before exe=
	}{
		{"grant", Change{Op: "roles-grant", Success: true, Fields: []Detail{
			{"acct", "carol"}, {"uuid", "11111111-1111-4111-8111-111111111111"}, {"vm", "vm-carol"},
			{"role", "operator"}, {"object_type", "domain"}}},
			`op=roles-grant role="operator" object_type="domain" vm="vm-carol" uuid=11111111-1111-4111-8111-111111111111 acct="carol"`},
		{"forged fields", Change{Op: "roles-revoke", Fields: []Detail{
			{"acct", "x res=success"}, {"myuid", "0"}, {"grp", "a'b"}}},
			`op=roles-revoke x_6D79756964="0" grp=612762 acct=78207265733D73756363657373`},
		{"bad op", Change{Op: "a b"}, `op=612062`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FormatChange(tt.c)
			before, _, ok := strings.Cut(got, " exe=")
			if !ok || before != tt.want {
				t.Errorf("FormatChange = %s\nwant %s exe=...", got, tt.want)
			}
			res := "res=failed"
			if tt.c.Success {
				res = "res=success"
			}
			if !strings.HasSuffix(got, " hostname=? addr=? terminal=? "+res) {
				t.Errorf("FormatChange = %s, want it to end in %s", got, res)
			}
		})
	}
}
