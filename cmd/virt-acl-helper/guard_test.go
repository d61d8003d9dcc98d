// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGuardCommandLine(t *testing.T) {
	dir := t.TempDir()
	notSocket := filepath.Join(dir, "file")
	if err := os.WriteFile(notSocket, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "g.conf")
	if err := os.WriteFile(conf, []byte("access_drivers = [ \"none\" ]\naudit_level = 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"no socket", nil, 2, "--listen or --readonly-listen is required"},
		{"stray argument", []string{"--listen", "x", "y"}, 2, "unexpected argument"},
		{"help", []string{"-h"}, 2, "bypass the guard"},
		{"missing config", []string{"--listen", filepath.Join(dir, "s"), "--config", filepath.Join(dir, "nope")}, 1, "nope"},
		{"listen path is a file", []string{"--listen", notSocket, "--config", conf}, 1, "not a socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := runGuard(tt.args, &out, &out)
			if code != tt.wantCode || !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("exit %d, output %q; want %d and %q", code, out.String(), tt.wantCode, tt.wantOut)
			}
		})
	}
}
