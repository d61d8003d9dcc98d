// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRolesCommands runs the read-only roles commands on files naming
// "nobody", a user every host has.
func TestRolesCommands(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "roles.d"), 0o755)
	const uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f"
	main := "[role.starter]\ndomain = [\"start\"]\n\n[[grant]]\nrole = \"operator\"\nuser = \"nobody\"\ndomain = \"" + uuid + "\"\nname = \"vm1\"\n"
	os.WriteFile(filepath.Join(dir, "roles.toml"), []byte(main), 0o644)
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "roles.toml"), []byte("[role.x]\ndomain = [\"fly\"]\n"), 0o644)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"list", []string{"list", "--dir", dir}, 0, dir + "/roles.toml:4  operator  user nobody  domain " + uuid + " (vm1)"},
		{"list bad file", []string{"list", "--dir", bad}, 1, bad + `/roles.toml:2: role "x": unknown permission "fly"`},
		{"show", []string{"show", "--user", "nobody", "--dir", dir}, 0, "operator on domain " + uuid + " (vm1), by user nobody (" + dir + "/roles.toml:4):\n    connect:getattr"},
		{"show nothing", []string{"show", "--user", "root", "--dir", dir}, 0, "root has no roles"},
		{"explain allowed", []string{"explain", "--user", "nobody", "domain", "start", "--uuid", strings.ToUpper(uuid), "--dir", dir}, 0,
			"nobody domain:start: allowed by the grant at " + dir + "/roles.toml:4: role operator (built-in)"},
		{"explain denied", []string{"explain", "--user", "nobody", "domain", "delete", "--uuid", uuid, "--dir", dir}, 1,
			"nobody domain:delete: not granted by any role"},
		{"explain connect", []string{"explain", "--user", "nobody", "connect", "search_domains", "--dir", dir}, 0, "allowed"},
		{"explain unknown permission", []string{"explain", "--user", "nobody", "domain", "fly", "--uuid", uuid}, 2, `unknown permission "fly"`},
		{"explain two names", []string{"explain", "--user", "nobody", "domain", "start", "--uuid", uuid, "--name", "vm1"}, 2, "exactly one of"},
		{"explain unknown user", []string{"explain", "--user", "no-such-user-x", "domain", "start", "--uuid", uuid, "--dir", dir}, 1, `user "no-such-user-x"`},
		{"grant bad type", []string{"grant", "viewer", "secret", "--user", "nobody", "--all", "--dir", dir}, 2, "not on secret"},
		{"grant new network", []string{"grant", "operator", "network", "--user", "nobody", "--new", "--dir", dir}, 2, "only domains are created by their owners"},
		{"grant new and all", []string{"grant", "operator", "domain", "--user", "nobody", "--new", "--all", "--dir", dir}, 2, "exactly one of"},
		{"grant create", []string{"grant", "operator", "domain", "--user", "nobody", "--new", "--no-apply", "--no-audit", "--dir", dir}, 0,
			"granted operator to user nobody on each new domain they create"},
		{"unknown command", []string{"fly"}, 2, `unknown command "fly"`},
		{"usage", nil, 2, "explain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := runRoles(tt.args, &out, &out)
			if code != tt.wantCode || !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("exit %d, output %q; want %d and %q", code, out.String(), tt.wantCode, tt.wantOut)
			}
		})
	}
}
