// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// TestFaultAuditGoesAway stops auditd and then disables audit under load.
// With auditd stopped the kernel still takes records (to its log), so
// answers go on at both levels. With audit disabled, audit_level 1 goes on
// answering (the records are counted as lost), and audit_level 2 refuses
// every decision with AuditFailed: never an allow that was not audited.
func TestFaultAuditGoesAway(t *testing.T) {
	tests := []struct {
		level          int
		wantAllowedOff bool // alice still allowed while audit is disabled
	}{
		{level: 1, wantAllowedOff: true},
		{level: 2, wantAllowedOff: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("audit_level %d", tt.level), func(t *testing.T) {
			a := testsys.StartAuditd(t)
			testsys.Need(t, a.Started(), "auditd ran before the test; the test stops only one it started")
			w := newFaultWorld(t, strings.Replace(faultConf, "audit_level = 0", fmt.Sprintf("audit_level = %d", tt.level), 1))
			c := w.d.Dial(t)
			w.warm(t, c)

			if err := syscall.Kill(a.PID(t), syscall.SIGTERM); err != nil {
				t.Fatalf("stop auditd: %v", err)
			}
			waitNoAuditd(t)
			for i := 0; i < 50; i++ {
				if r, err := ask(c, w.alice, fmt.Sprintf("alice-noauditd-%d", i)); err != nil || !r.Allowed {
					t.Fatalf("with auditd stopped: %+v, %v", r, err)
				}
			}

			a.Disable(t)
			time.Sleep(1500 * time.Millisecond) // the writer reads the kernel's status every second
			for i, name := range []string{"alice-cached", "alice-off-1", "alice-off-2"} {
				r, err := ask(c, w.alice, name)
				switch {
				case tt.wantAllowedOff && (err != nil || !r.Allowed):
					t.Errorf("%d: %s with audit disabled: %+v, %v; want allowed", i, name, r, err)
				case !tt.wantAllowedOff && (err == nil || shortName(accessapi.ErrAuditFailed) != shortName(errName(err))):
					t.Errorf("%d: %s with audit disabled: %+v, %v; want AuditFailed", i, name, r, err)
				}
			}
		})
	}
}

func errName(err error) string {
	if n := clientErrorName(err); n != "" {
		return n
	}
	return accessapi.Interface + ".none"
}

// waitNoAuditd waits until the kernel has no audit daemon registered.
func waitNoAuditd(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, err := testsys.AuditStatus()
		if err == nil && st["pid"] == "0" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("auditd still registered: %v, %v", st, err)
		}
	}
}
