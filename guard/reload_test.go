// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// TestReloadXMLPolicy: a reload puts the configuration's XML policy in
// force with it, or keeps both as they were when the policy is missing or
// invalid; xml_policy = "" turns the policy off.
func TestReloadXMLPolicy(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "xml-policy.toml")
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	conf := func(xmlPolicy string, paths int) string {
		return write("guard.conf", fmt.Sprintf("access_drivers = [ \"none\" ]\naudit_level = 0\nxml_policy = %q\nallow_host_path_calls = %d\n", xmlPolicy, paths))
	}
	write("xml-policy.toml", string(xmlpolicy.DefaultFile()))
	log := slog.New(slog.DiscardHandler)
	cfg, err := loadConfig(conf(policy, 0), log)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := engine.Start(context.Background(), cfg, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	first, err := loadXMLPolicy(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{rt: rt, content: NewContentPolicy(first, false), slots: limit.NewConns(cfg.MaxClients, cfg.MaxClientsReserved, cfg.MaxClientsPerUser),
		idle: newIdleExit(0), log: log}

	tests := []struct {
		name       string
		setup      func() string // the configuration file
		wantErr    string
		wantPolicy bool
		wantPaths  bool
	}{
		{"an invalid policy keeps the one in force", func() string {
			write("xml-policy.toml", "[[nonsense")
			return conf(policy, 1)
		}, "xml-policy.toml", true, false},
		{"a missing policy keeps the one in force", func() string {
			os.Remove(policy)
			return conf(policy, 1)
		}, "xml-policy.toml", true, false},
		{"no policy, by the configuration", func() string { return conf("", 0) }, "", false, false},
		{"a policy again, and host path calls", func() string {
			write("xml-policy.toml", string(xmlpolicy.DefaultFile()))
			return conf(policy, 1)
		}, "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.content.load()
			r.opts.ConfigPath = tt.setup()
			err := r.reload(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("reload: %v, want an error naming %s", err, tt.wantErr)
				}
				if r.content.load() != before {
					t.Error("a failed reload changed the policy in force")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := r.content.load()
			if (st.policy != nil) != tt.wantPolicy || st.allowHostPaths != tt.wantPaths {
				t.Errorf("policy %v, host paths %v; want %v, %v", st.policy != nil, st.allowHostPaths, tt.wantPolicy, tt.wantPaths)
			}
		})
	}
}

// TestDefaultPolicyNeverNone: at the default path the guard always has a
// policy, the file the packages install or, without it, the built-in
// one, never none.
func TestDefaultPolicyNeverNone(t *testing.T) {
	cfg := config.Default()
	p, err := loadXMLPolicy(cfg, slog.New(slog.DiscardHandler))
	if err != nil || p == nil {
		t.Fatalf("xml_policy = %q: policy %v, %v; want one", cfg.XMLPolicy, p, err)
	}
}
