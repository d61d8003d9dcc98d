// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// records yields record(0) ... record(n-1).
func records(n int) iter.Seq[Record] {
	return func(yield func(Record) bool) {
		for i := range n {
			if !yield(record(i)) {
				return
			}
		}
	}
}

func TestWriteMany(t *testing.T) {
	tests := []struct {
		name    string
		level   Level
		refuse  string   // the fake kernel refuses records holding it
		closed  bool     // the writer is closed first
		want    []string // each record's Cause; nil: all written
		sent    int
		lost    Losses
		logging bool
	}{
		{name: "auto", level: Auto, sent: 200},
		{name: "auto, one refused", level: Auto, refuse: `vm="vm7"`, sent: 199, lost: Losses{Refused: 1}},
		{name: "auto, closed", level: Auto, closed: true, lost: Losses{Closed: 200}},
		{name: "required", level: Required, sent: 200},
		{name: "required, one refused", level: Required, refuse: `vm="vm7"`, sent: 199, lost: Losses{Refused: 1},
			want: failAt(200, map[int]Cause{7: Refused})},
		{name: "required, closed", level: Required, closed: true, lost: Losses{Closed: 200},
			want: failAt(200, map[int]Cause{-1: Closed})},
		{name: "off, logging", level: Off, logging: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newFake()
			k.s.refuse = tt.refuse
			var log bytes.Buffer
			w := openFake(t, Config{Level: tt.level, QueueSize: 256, Log: tt.logging,
				Logger: slog.New(slog.NewTextHandler(&log, nil))}, k)
			if tt.closed {
				w.Close()
			}
			errs := w.WriteMany(context.Background(), records(200))
			if got := causes(errs); !slices.Equal(got, tt.want) {
				t.Errorf("outcomes %v, want %v", got, tt.want)
			}
			w.Close() // writes what is queued
			st := w.Stats()
			if int(st.Sent) != tt.sent || st.Lost != tt.lost {
				t.Errorf("stats %+v, want %d sent and losses %+v", st, tt.sent, tt.lost)
			}
			var want []string
			for i := range tt.sent + int(tt.lost[Refused]) {
				if text := Format(record(i)); tt.refuse == "" || !strings.Contains(text, tt.refuse) {
					want = append(want, text)
				}
			}
			if sent := k.s.sent(); !slices.Equal(sent, want) {
				t.Errorf("sent %d records, want %d in order", len(sent), len(want))
			}
			if n := strings.Count(log.String(), "access granted"); tt.logging && n != 200 {
				t.Errorf("%d decisions logged, want 200", n)
			}
		})
	}
}

// TestWriteManyAutoQueue holds the writer "in the kernel" with one
// record, then has it queue more: a list's records go to the queue a
// batch's worth at a time, as much as there is room for, in order, and
// every record that finds no room is counted lost; a batch that a
// queued job overfills sends the rest of that job first in the next.
func TestWriteManyAutoQueue(t *testing.T) {
	tests := []struct {
		name    string
		queue   int
		list    int // records of the WriteMany after one Write
		sent    int // of the WriteMany's, sent once the kernel lets go
		lost    uint64
		batches []int
	}{
		// 1 + 63 of the list's first job fill a batch; its last record
		// starts the next, with the second job's 36.
		{name: "room for all", queue: 256, list: 100, sent: 100, batches: []int{1, 64, 37}},
		// Jobs of 64: the first fits, 35 of the second (the Write's
		// record is in the room too), none of the rest.
		{name: "queue smaller than the list", queue: 100, list: 200, sent: 99, lost: 101, batches: []int{1, 64, 36}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newFake()
			k.s.blocked = make(chan struct{})
			k.s.entered = make(chan struct{}, 1)
			w := openFake(t, Config{Level: Auto, QueueSize: tt.queue, Linger: -1}, k)
			w.Write(context.Background(), record(-1))
			<-k.s.entered // the writer is now held "in the kernel"
			w.Write(context.Background(), record(-2))
			if errs := w.WriteMany(context.Background(), records(tt.list)); errs != nil {
				t.Fatalf("WriteMany at level 1 = %v, want nil", errs)
			}
			if st := w.Stats(); st.Queued != 1+tt.sent || st.Lost[QueueFull] != tt.lost {
				t.Errorf("stats %+v, want %d queued and %d lost to a full queue", st, 1+tt.sent, tt.lost)
			}
			close(k.s.blocked)
			w.Close()
			want := []string{Format(record(-1)), Format(record(-2))}
			for i := range tt.sent {
				want = append(want, Format(record(i)))
			}
			if sent := k.s.sent(); !slices.Equal(sent, want) {
				t.Errorf("sent %d records, want %d in order, the same texts as Format's", len(sent), len(want))
			}
			k.s.mu.Lock()
			defer k.s.mu.Unlock()
			if !slices.Equal(k.s.batches, tt.batches) {
				t.Errorf("batches of %v records, want %v", k.s.batches, tt.batches)
			}
		})
	}
}

// failAt lists n outcomes: "" (written) but at the given indexes; -1
// fails all.
func failAt(n int, at map[int]Cause) []string {
	out := make([]string, n)
	for i := range out {
		if c, ok := at[i]; ok {
			out[i] = c.String()
		}
		if c, ok := at[-1]; ok {
			out[i] = c.String()
		}
	}
	return out
}

// causes lists each error's Cause ("" for none), or nil for no errors.
func causes(errs []error) []string {
	if errs == nil {
		return nil
	}
	out := make([]string, len(errs))
	for i, err := range errs {
		var aerr *Error
		switch {
		case errors.As(err, &aerr):
			out[i] = aerr.Cause.String()
		case err != nil:
			out[i] = "not an *Error: " + err.Error()
		}
	}
	return out
}

// TestWriteManyRequiredWaitsOnceAndTimesOut: a held kernel fails every
// record of a level Required batch within one Timeout, and none of them
// is sent after their caller gave up.
func TestWriteManyRequiredWaitsOnceAndTimesOut(t *testing.T) {
	k := newFake()
	k.s.blocked = make(chan struct{})
	k.s.entered = make(chan struct{}, 1)
	w := openFake(t, Config{Level: Required, Timeout: 100 * time.Millisecond, QueueSize: 64}, k)
	start := time.Now()
	errs := w.WriteMany(context.Background(), records(500))
	if d := time.Since(start); d > time.Second {
		t.Errorf("a batch of 500 against a held kernel took %v, want about one Timeout", d)
	}
	if len(errs) != 500 {
		t.Fatalf("%d outcomes for 500 records", len(errs))
	}
	for i, err := range errs {
		var aerr *Error
		if !errors.As(err, &aerr) || aerr.Cause != Timeout {
			t.Fatalf("record %d: %v, want a Timeout *Error", i, err)
		}
	}
	close(k.s.blocked)
	waitFor(t, "every record to be accounted for", func() bool {
		st := w.Stats()
		return int(st.Sent+st.Lost.Total()) == 500
	})
	// The first batch was in the kernel when the callers gave up; no
	// later one may be sent.
	if st := w.Stats(); st.Sent > maxBatch {
		t.Errorf("%d records sent after their caller denied", st.Sent)
	}
}

// nullSender takes every record at once, as a kernel that costs nothing.
type nullSender struct{}

func (nullSender) send(texts [][]byte) []error { return make([]error, len(texts)) }
func (nullSender) close() error                { return nil }

type nullKernel struct{}

func (nullKernel) dial() (sender, statusReader, error) {
	return nullSender{}, &fakeStatus{st: enabled}, nil
}

func (nullKernel) canWrite() (bool, error) { return true, nil }

// BenchmarkWriteMany writes 10,000 records, as a CheckMany of 10,000
// cached objects does, to a kernel that costs nothing: what is left is
// the writer's own work (formatting, the queue, at level 2 the wait for
// each outcome). "each" calls Write for every record in turn, "many"
// calls WriteMany once. A round ends when the writer has sent its
// records: at level 1 too, the writer's goroutine is timed, not only
// the caller's queueing.
func BenchmarkWriteMany(b *testing.B) {
	const n = 10_000
	for _, level := range []Level{Auto, Required} {
		for _, how := range []string{"each", "many"} {
			b.Run(level.String()+"/"+how, func(b *testing.B) {
				w, err := open(Config{Level: level, QueueSize: 2 * n}, nullKernel{})
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				r := webRecord()
				b.ReportAllocs()
				for b.Loop() {
					writeRound(b, w, how == "many", n, r)
				}
				b.ReportMetric(float64(w.Stats().Lost.Total()), "lost")
			})
		}
	}
}

// writeRound writes n copies of r, with one WriteMany or n Writes, and
// waits until the writer has sent them.
func writeRound(b *testing.B, w *Writer, many bool, n int, r Record) {
	want := w.Stats().Sent + uint64(n)
	if many {
		if errs := w.WriteMany(context.Background(), func(yield func(Record) bool) {
			for range n {
				if !yield(r) {
					return
				}
			}
		}); errs != nil {
			b.Fatal(errs[0])
		}
	} else {
		for range n {
			if err := w.Write(context.Background(), r); err != nil {
				b.Fatal(err)
			}
		}
	}
	for st := w.Stats(); st.Sent < want; st = w.Stats() {
		if st.Lost.Total() > 0 {
			b.Fatalf("records lost: %+v", st.Lost)
		}
		runtime.Gosched()
	}
}
