// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestXMLPolicyCommands runs xml-policy on the package's corpus and on a
// broken policy file.
func TestXMLPolicyCommands(t *testing.T) {
	const data = "../../xmlpolicy/testdata/"
	dir := t.TempDir()
	policy := filepath.Join(dir, "p.toml")
	var def bytes.Buffer
	if code := runXMLPolicy([]string{"default"}, &def, &def); code != 0 {
		t.Fatalf("default: exit %d: %s", code, def.String())
	}
	os.WriteFile(policy, def.Bytes(), 0o644)
	broken := filepath.Join(dir, "broken.toml")
	os.WriteFile(broken, []byte("version = 1\npools = []\nnetworks = []\n[limits]\nmax_bytes = 1\nmax_depth = -1\nmax_elements = 1\nmax_opaque_bytes = 1\n"), 0o644)
	accepted := data + "accepted/virt-install-q35-spice.xml"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"passes", []string{"check", "--policy", policy, accepted}, 0, accepted + ": passes (the guard also checks the user may use: name virt-install-q35-spice, volume default/virt-install-q35-spice.raw, network default)"},
		{"refused", []string{"check", "--policy", policy, data + "refused/interface-ethernet-script.xml"}, 1,
			"refused, 3 violation(s):\n  /domain/devices/interface/@type\n    rule interfaces: \"ethernet\" is not one of network\n"},
		{"one refused of two", []string{"check", "--policy", policy, accepted, data + "refused/seclabel-none.xml"}, 1, "/domain/seclabel\n    rule domain: element <seclabel> is not allowed here"},
		{"kind", []string{"check", "--policy", policy, "--kind", "blockcopy", data + "refused-other/blockcopy-file.xml"}, 1, "/disk/@type"},
		{"unknown kind", []string{"check", "--kind", "vm", accepted}, 2, `unknown document kind "vm"`},
		{"broken policy", []string{"check", "--policy", broken, accepted}, 2, broken + ":6: limits.max_depth must be set and positive"},
		{"missing file", []string{"check", "--policy", policy, filepath.Join(dir, "none.xml")}, 2, "no such file"},
		{"no file", []string{"check", "--policy", policy}, 2, "usage"},
		{"validate", []string{"validate", policy}, 0, policy + ": valid"},
		{"validate broken", []string{"validate", broken}, 1, broken + ":6:"},
		{"unknown command", []string{"fly"}, 2, `unknown command "fly"`},
		{"usage", nil, 2, "validate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := runXMLPolicy(tt.args, &out, &out)
			if code != tt.wantCode || !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("exit %d, output %q; want %d and %q", code, out.String(), tt.wantCode, tt.wantOut)
			}
		})
	}
}
