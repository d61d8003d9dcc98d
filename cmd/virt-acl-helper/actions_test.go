// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/policy"
)

func TestActions(t *testing.T) {
	render := func(s policy.Set) string {
		var b bytes.Buffer
		s.WriteTo(&b)
		return b.String()
	}
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		check      func(out, errOut string) bool
	}{
		{"table of every permission", []string{"actions"}, 0, func(out, _ string) bool {
			return strings.Count(out, "\n") == 1+105 && strings.Contains(out, "org.libvirt.api.storage-pool.search-storage-vols")
		}},
		{"one object type", []string{"actions", "--object", "domain"}, 0, func(out, _ string) bool {
			return strings.Count(out, "\n") == 1+31 && !strings.Contains(out, "network")
		}},
		{"libvirt's polkit actions", []string{"actions", "--polkit"}, 0, func(out, _ string) bool {
			return out == render(policy.Libvirt()) && strings.Count(out, "<action ") == 105
		}},
		{"the helper's own polkit actions", []string{"actions", "--polkit", "--own"}, 0, func(out, _ string) bool {
			return out == render(policy.Helper())
		}},
		{"unknown object type names the choices", []string{"actions", "--object", "vm"}, 2, func(_, errOut string) bool {
			return strings.Contains(errOut, `unknown object type "vm"`) && strings.Contains(errOut, "storage_vol")
		}},
		{"--own alone", []string{"actions", "--own"}, 2, func(_, errOut string) bool {
			return strings.Contains(errOut, "--own goes with --polkit")
		}},
		{"version", []string{"--version"}, 0, func(out, _ string) bool {
			return strings.HasPrefix(out, "virt-acl-helper ")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if got := run(tt.args, &out, &errOut); got != tt.wantStatus {
				t.Fatalf("exit %d, want %d; stderr %q", got, tt.wantStatus, errOut.String())
			}
			if !tt.check(out.String(), errOut.String()) {
				t.Errorf("unexpected output:\nstdout %q\nstderr %q", out.String(), errOut.String())
			}
		})
	}
}
