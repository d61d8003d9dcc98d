// SPDX-License-Identifier: Apache-2.0

package proto

import (
	"testing"
)

// TestCounts checks the table against the numbers GUARD.md gives for
// libvirt 9.0.0's remote_protocol.x, counted independently there.
func TestCounts(t *testing.T) {
	tab := mustTable(t)
	procs := tab.Procedures(Remote)
	var unchecked, flagRules, paramRules, filtered int
	flagProcs := map[int32]bool{}
	var paramProcs []int32
	pairs := map[string]bool{}
	for _, p := range procs {
		if p.Unchecked() {
			unchecked++
		}
		if len(p.Filters()) > 0 {
			filtered++
		}
		for _, f := range p.Filters() {
			pairs[f.String()] = true
		}
		for _, r := range p.Rules() {
			pairs[r.Permission().String()] = true
			if _, _, ok := r.FlagCondition(); ok {
				flagRules++
				flagProcs[p.Number()] = true
			}
			if _, _, _, ok := r.ParamCondition(); ok {
				paramRules++
				paramProcs = append(paramProcs, p.Number())
			}
		}
	}
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"remote procedures", len(procs), 443},
		{"procedures with @acl: none", unchecked, 58},
		{"flag-conditional rules", flagRules, 55},
		{"procedures with flag-conditional rules", len(flagProcs), 31},
		{"parameter rules", paramRules, 1},
		{"procedures with @aclfilter", filtered, 42},
		{"distinct object:permission pairs", len(pairs), 104},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.what, c.got, c.want)
		}
	}
	if len(paramProcs) != 1 || paramProcs[0] != 353 {
		t.Errorf("parameter rule procedures: got %v, want [353]", paramProcs)
	}
}

func mustTable(t testing.TB) *Table {
	t.Helper()
	tab, err := NewTable()
	if err != nil {
		t.Fatalf("NewTable: %v", err)
	}
	return tab
}
