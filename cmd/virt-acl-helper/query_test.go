// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"
	"io"
	"maps"
	"strings"
	"testing"
)

func TestObjectFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		typ        string
		wantDriver string
		wantAttrs  map[string]string
		wantErr    string
	}{
		{"domain by name and uuid", []string{"--name", "vm1", "--uuid", "u"}, "domain", "QEMU",
			map[string]string{"domain_name": "vm1", "domain_uuid": "u"}, ""},
		{"volume: its own name, not the pool's", []string{"--name", "disk", "--attr", "pool_name=p"}, "storage-vol", "storage",
			map[string]string{"vol_name": "disk", "pool_name": "p"}, ""},
		{"explicit driver", []string{"--driver", "LXC", "--name", "c1"}, "domain", "LXC",
			map[string]string{"domain_name": "c1"}, ""},
		{"connect has no name", []string{"--name", "x"}, "connect", "", nil, "connect objects have no name attribute"},
		{"unknown type", nil, "vm", "", nil, `unknown object type "vm"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			of := addObjectFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			before := maps.Clone(of.attrs)
			obj, err := of.object(tt.typ)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || obj.Driver != tt.wantDriver || !maps.Equal(obj.Attributes, tt.wantAttrs) {
				t.Fatalf("object = %+v, %v; want driver %s attributes %v", obj, err, tt.wantDriver, tt.wantAttrs)
			}
			if !maps.Equal(of.attrs, before) {
				t.Error("building the object changed the --attr flags")
			}
		})
	}
}
