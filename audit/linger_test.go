// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestLingerGathersRecords: at level Auto, a record reaching an idle
// writer waits Linger for the next ones, and they go to the kernel in one
// write; with Linger negative each goes alone.
func TestLingerGathersRecords(t *testing.T) {
	for _, tt := range []struct {
		linger  time.Duration
		batches string
	}{
		{time.Hour, "[5]"},              // held until Close
		{-1, "[1 1 1 1 1]"},             // no linger: sent as they come
		{500 * time.Millisecond, "[5]"}, // held, then sent
	} {
		k := newFake()
		w := openFake(t, Config{Level: Auto, Linger: tt.linger}, k)
		for i := range 5 {
			w.Write(context.Background(), record(i))
			// The writer is idle when each record comes: without
			// linger it has sent the one before; with it, it has taken
			// the first and holds it while the others queue.
			waitFor(t, "the writer to take the record", func() bool {
				if tt.linger < 0 {
					return len(k.s.sent()) == i+1
				}
				return i > 0 || w.Stats().Queued == 0
			})
		}
		if tt.linger == time.Hour {
			if n := len(k.s.sent()); n != 0 {
				t.Errorf("linger %v: %d records sent while lingering", tt.linger, n)
			}
			w.Close() // sends what lingers
		}
		waitFor(t, "every record sent", func() bool { return len(k.s.sent()) == 5 })
		k.s.mu.Lock()
		got := fmt.Sprint(k.s.batches)
		k.s.mu.Unlock()
		if got != tt.batches {
			t.Errorf("linger %v: writes of %s records, want %s", tt.linger, got, tt.batches)
		}
		if st := w.Stats(); st.Lost.Total() != 0 {
			t.Errorf("linger %v: lost %+v", tt.linger, st.Lost)
		}
	}
}

// TestRequiredDoesNotLinger: a level Required record is sent at once,
// whatever Linger says: its caller waits for the kernel's answer.
func TestRequiredDoesNotLinger(t *testing.T) {
	k := newFake()
	w := openFake(t, Config{Level: Required, Linger: time.Hour, Timeout: 10 * time.Second}, k)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Write(ctx, record(0)); err != nil {
		t.Fatalf("Write at level Required with Linger 1h: %v", err)
	}
}
