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
)

// fakeProber answers as a polkitd running the file at path would: the
// probe is answered when the file holds the digest, unless broken.
type fakeProber struct {
	path   string
	broken bool // polkitd rejects every new file
	err    error
}

func (f fakeProber) Probe(_ context.Context, digest string) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	data, _ := os.ReadFile(f.path)
	return !f.broken && strings.Contains(string(data), `=== "`+digest+`"`), nil
}

func TestInstall(t *testing.T) {
	r := Render(testPolicy(t))
	tests := []struct {
		name    string
		old     string // "" for no previous file
		prober  func(path string) Prober
		wantErr string
		want    string // the file afterwards; "" for none
	}{
		{"new file kept", "", func(p string) Prober { return fakeProber{path: p} }, "", string(r.Text)},
		{"replaced", "old rules", func(p string) Prober { return fakeProber{path: p} }, "", string(r.Text)},
		{"rejected restores", "old rules", func(p string) Prober { return fakeProber{path: p, broken: true} }, "did not load", "old rules"},
		{"rejected removes", "", func(p string) Prober { return fakeProber{path: p, broken: true} }, "did not load", ""},
		{"polkitd down", "old rules", func(p string) Prober { return fakeProber{err: errors.New("no polkitd")} }, "no polkitd", "old rules"},
		{"someone else answers", "old rules", func(string) Prober { return everyone{} }, "does not come from", "old rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "60-roles.rules")
			if tt.old != "" {
				os.WriteFile(path, []byte(tt.old), 0o644)
			}
			in := Installer{Path: path, Prober: tt.prober(path), Wait: 200 * time.Millisecond}
			err := in.Install(context.Background(), r)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Install: %v, want %q", err, tt.wantErr)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.want {
				t.Errorf("file afterwards: %.40q, want %.40q", got, tt.want)
			}
		})
	}
}

// everyone is a rule before ours answering the probe action for any value.
type everyone struct{}

func (everyone) Probe(context.Context, string) (bool, error) { return true, nil }
