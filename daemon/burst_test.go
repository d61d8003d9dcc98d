// SPDX-License-Identifier: Apache-2.0

package daemon_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// TestCheckManyBurstAudited: a CheckMany of max_objects cached decisions
// queues all their records at once, faster than the kernel takes them. At
// audit_level 1 a record that finds the writer's queue full is lost, so
// the queue must hold such a burst: every record reaches auditd's log,
// and the daemon counts none lost.
func TestCheckManyBurstAudited(t *testing.T) {
	w := newWorld(t)
	auditd := testsys.StartAuditdIn(t, t.TempDir())
	const n = 16384 // max_objects' default
	d := w.startActivated(t, w.Config(t, "c.conf", "access_drivers = [ \"none\" ]\naudit_level = 1\nidle_timeout = 0\n"+
		fmt.Sprintf("max_objects = %d\nmax_message_size = 16777216\n", n)))
	name := fmt.Sprintf("burst-%d", time.Now().UnixNano())
	objs := make([]accessapi.Object, n)
	for i := range objs {
		objs[i] = vm(name, fmt.Sprintf("c0000000-0000-4000-8000-%012x", i))
	}
	c := d.client(t)
	for pass := range 2 { // the second from the cache
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		rs, err := c.CheckMany(ctx, accessapi.CheckManyParams{Permission: "getattr", Objects: objs})
		cancel()
		if err != nil || len(rs) != n {
			t.Fatalf("pass %d: %d results, %v", pass, len(rs), err)
		}
		if pass == 1 && !rs[0].Cached {
			t.Fatalf("second pass not from the cache: %+v", rs[0])
		}
	}
	var a accessapi.AuditStats
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		s, err := c.Stats(context.Background())
		if err != nil || s.Audit == nil {
			t.Fatalf("Stats: %+v, %v", s.Audit, err)
		}
		if a = *s.Audit; a.Sent+a.Lost >= 2*n {
			break
		}
	}
	if a.Lost != 0 || a.Sent < 2*n {
		t.Errorf("audit writer after 2 x %d decisions: sent %d, lost %d %v", n, a.Sent, a.Lost, a.LostBy)
	}
	if got := auditd.CountLines(`vm="`+name+`"`, 2*n); got != 2*n {
		t.Errorf("auditd's log holds %d records of the burst, want %d", got, 2*n)
	}
}
