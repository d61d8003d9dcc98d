// SPDX-License-Identifier: Apache-2.0

package identity

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// child is a process the test started.
type child struct {
	proc.Process
	cmd *exec.Cmd
}

// children starts n processes that wait until the test ends.
func children(t *testing.T, n int) []child {
	t.Helper()
	out := make([]child, n)
	for i := range out {
		cmd := exec.Command("sleep", "60")
		if os.Geteuid() == 0 { // a root process is never reused: run it as nobody
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		p, err := proc.Lookup(int32(cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = child{p, cmd}
	}
	return out
}

// countingSeen is a Seen whose reads of /proc are counted, on a clock
// the test moves.
func countingSeen(reads *int, now *time.Time) *Seen {
	return &Seen{
		hold: func(pid int32) (*proc.Held, error) { *reads++; return proc.Hold(pid) },
		now:  func() time.Time { return *now },
	}
}

func TestSeenReuse(t *testing.T) {
	tests := []struct {
		name      string
		between   func(t *testing.T, now *time.Time, c child) // between two lookups
		wantReads int
		wantErr   error
	}{
		{"again at once: reused", func(*testing.T, *time.Time, child) {}, 1, nil},
		{"again after seenFor: read again", func(_ *testing.T, now *time.Time, _ child) { *now = now.Add(seenFor) }, 2, nil},
		{"exited: read again, and gone", func(_ *testing.T, _ *time.Time, c child) { c.cmd.Process.Kill(); c.cmd.Wait() }, 2, proc.ErrNoProcess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := children(t, 1)[0]
			p := c.Process
			reads, now := 0, time.Unix(1000, 0)
			s := countingSeen(&reads, &now)
			defer s.Close()
			if got, err := s.lookup(p.PID, p.StartTime); err != nil || got != p {
				t.Fatalf("first lookup: %+v, %v; want %+v", got, err, p)
			}
			tt.between(t, &now, c)
			got, err := s.lookup(p.PID, p.StartTime)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("second lookup: %v, want %v", err, tt.wantErr)
			}
			if err == nil && got != p {
				t.Errorf("second lookup: %+v, want %+v", got, p)
			}
			if reads != tt.wantReads {
				t.Errorf("%d reads of /proc, want %d", reads, tt.wantReads)
			}
		})
	}
}

func TestSeenOtherStartTimeIsNotKept(t *testing.T) {
	p := children(t, 1)[0].Process
	reads, now := 0, time.Unix(1000, 0)
	s := countingSeen(&reads, &now)
	defer s.Close()
	for range 2 {
		got, err := s.lookup(p.PID, p.StartTime+1) // pinned to an earlier holder of the pid
		if err != nil || got.StartTime != p.StartTime {
			t.Fatalf("lookup: %+v, %v", got, err)
		}
	}
	if reads != 2 || len(s.held) != 0 {
		t.Errorf("%d reads, %d held: a process that is not the pinned one must be read every time and not kept", reads, len(s.held))
	}
}

func TestSeenBoundedAndClosed(t *testing.T) {
	ps := children(t, seenMax+1)
	reads, now := 0, time.Unix(1000, 0)
	s := countingSeen(&reads, &now)
	for _, p := range ps {
		if _, err := s.lookup(p.PID, p.StartTime); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.held) != seenMax {
		t.Fatalf("%d held, want at most %d", len(s.held), seenMax)
	}
	if _, err := s.lookup(ps[0].PID, ps[0].StartTime); err != nil || reads != seenMax+2 {
		t.Errorf("the oldest was not let go: %d reads, %v", reads, err)
	}
	s.Close()
	if _, err := s.lookup(ps[1].PID, ps[1].StartTime); err != nil || len(s.held) != 0 {
		t.Errorf("after Close: %d held, %v", len(s.held), err)
	}
}
