// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/audit"
)

func TestOwn(t *testing.T) {
	const uuid = "44444444-4444-4444-8444-444444444444"
	tests := []struct {
		name      string
		broken    bool  // polkitd rejects the new rule
		recordErr error // the audit record fails
		wantErr   string
	}{
		{"recorded", false, nil, ""},
		{"polkitd rejects the rule", true, nil, "did not load"},
		{"no audit record", false, errors.New("auditd gone"), "auditd gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			rules := filepath.Join(dir, "60-roles.rules")
			var changes []audit.Change
			o := &Owners{Dir: dir, Rules: rules, Prober: fakeProber{path: rules, broken: tt.broken}, Accounts: accts,
				Wait: 200 * time.Millisecond, Record: func(c audit.Change) error {
					changes = append(changes, c)
					return tt.recordErr
				}}
			g, err := o.Own(context.Background(), "carol", "operator", uuid, "vm-new")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Own: %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Own: %v", err)
			}
			pol, lerr := o.Load()
			if lerr != nil {
				t.Fatal(lerr)
			}
			granted := len(pol.GrantsOn(g.Object.Type, uuid)) == 1
			rule, _ := os.ReadFile(rules)
			inRule := strings.Contains(string(rule), uuid)
			if want := tt.wantErr == ""; granted != want || inRule != want {
				t.Errorf("granted %v, in the rule %v; want %v", granted, inRule, want)
			}
			if len(changes) == 0 {
				t.Fatal("no audit record")
			}
			last := audit.FormatChange(changes[len(changes)-1])
			for _, want := range []string{"op=" + OpOwn, `role="operator"`, `acct="carol"`, `vm="vm-new"`, "uuid=" + uuid} {
				if !strings.Contains(last, want) {
					t.Errorf("record %q lacks %s", last, want)
				}
			}
		})
	}
}
