// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"valid", []string{"check", write("ok.conf", "max_clients = 10\n")}, 0, "valid"},
		{"access control off", []string{"check", write("none.conf", "access_drivers = [ \"none\" ]\n")}, 0, "turns access control off"},
		{"bad value names the line", []string{"check", write("bad.conf", "\nmax_clients = \"x\"\n")}, 1, "bad.conf:2"},
		{"missing file", []string{"check", filepath.Join(dir, "nope")}, 1, "nope"},
		{"no subcommand", nil, 2, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := runConfig(tt.args, &out, &out)
			if code != tt.wantCode || !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("exit %d, output %q; want %d and %q", code, out.String(), tt.wantCode, tt.wantOut)
			}
		})
	}
}

func TestCheckExitCodesWithoutDaemon(t *testing.T) {
	var out bytes.Buffer
	args := []string{"domain", "start", "--name", "vm", "--uuid", "6695eb01-f6a4-8304-79aa-97f2502e193f",
		"--socket", filepath.Join(t.TempDir(), "none.sock")}
	if code := runCheck(args, &out, &out); code != exitError || !strings.Contains(out.String(), "cannot reach the daemon") {
		t.Errorf("no daemon: exit %d, %q; want 2", code, out.String())
	}
	out.Reset()
	if code := runCheck([]string{"spaceship", "start"}, &out, &out); code != exitError || !strings.Contains(out.String(), "unknown object type") {
		t.Errorf("bad object type: exit %d, %q", code, out.String())
	}
}
