// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
)

// TestFaultAuthorityOutage takes polkit away under load, in the two ways it
// goes away on a host, and brings it back. While it is gone: nothing is
// allowed that was not cached as allowed before (bob never; alice's new
// domains never), a decision that needs polkit fails with
// AuthorizationUnavailable rather than a denial or a hang. After it is
// back: polkit answers again within resume, and the cache was flushed.
func TestFaultAuthorityOutage(t *testing.T) {
	tests := []struct {
		name   string
		resume time.Duration // the longest wait for polkit's first answer after it is back
		stop   func(t *testing.T, w *faultWorld)
		start  func(t *testing.T, w *faultWorld)
	}{
		{
			name:   "polkitd killed and restarted",
			resume: time.Second,
			stop:   func(t *testing.T, w *faultWorld) { w.PK.Kill(t) },
			start:  func(t *testing.T, w *faultWorld) { w.PK.Start(t) },
		},
		{
			// polkitd exits with its bus connection; it comes back after
			// the bus, as its unit would be restarted.
			name:   "system bus restarted",
			resume: 5 * time.Second,
			stop:   func(t *testing.T, w *faultWorld) { w.Bus.Stop(t); w.PK.Kill(t) },
			start:  func(t *testing.T, w *faultWorld) { w.Bus.Start(t); w.PK.Start(t) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newFaultWorld(t, faultConf)
			c := w.d.Dial(t)
			w.warm(t, c)
			before := polkitInvalidations(t, c)
			l := startLoad(t, w, 8)
			time.Sleep(300 * time.Millisecond)

			tt.stop(t, w)
			down := time.Now()
			time.Sleep(2 * time.Second)
			up := time.Now()
			tt.start(t, w)
			took := w.waitUncachedAllow(t, c, tt.resume)
			time.Sleep(300 * time.Millisecond)
			answers := l.finish()

			t.Logf("polkit's first answer %v after it was back", took)
			during := tally(answers, down, up)
			t.Logf("during the outage: %v", during)
			checkNoWrongAllow(t, answers, down, up)
			if during["alice-new "+shortName(accessapi.ErrAuthorizationUnavailable)] == 0 {
				t.Errorf("no AuthorizationUnavailable for uncached questions during the outage: %v", during)
			}
			if n := during["alice-new connection error"] + during["bob connection error"]; n > 0 {
				t.Errorf("%d connection errors: the daemon should answer, not drop clients", n)
			}
			if after := polkitInvalidations(t, c); after <= before {
				t.Errorf("cache not flushed for polkit's return: polkit invalidations %d before, %d after", before, after)
			}
		})
	}
}

func shortName(errName string) string { return errName[len(accessapi.Interface)+1:] }
