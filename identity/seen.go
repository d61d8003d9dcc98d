// SPDX-License-Identifier: Apache-2.0

package identity

import (
	"sync"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// Reuse bounds of Seen: how many processes one caller's Seen holds, and
// for how long one read of a process stands for it.
const (
	seenMax = 4
	seenFor = time.Second
)

// Seen remembers the last processes a caller named pinned by start time,
// each held open (proc.Held), so that a proxy asking again and again
// about the same client reads it once rather than five /proc files per
// question. A process is reused only while its pin names it (pid and
// start time), it is Current (it has not exited, so its pid cannot name
// another process yet, runs as the same effective uid, not root, and has
// executed nothing else) and it was read less than seenFor ago, which
// bounds how stale its login uid and session can be; else it is read
// again. The pinned uid is then checked against it as on a fresh read.
//
// One Seen belongs to one connection; it is safe for concurrent use.
// Close it when the connection ends: it holds a descriptor per process.
type Seen struct {
	mu     sync.Mutex
	held   []seen
	closed bool
	hold   func(pid int32) (*proc.Held, error) // nil: proc.Hold
	now    func() time.Time                    // nil: time.Now
}

type seen struct {
	h  *proc.Held
	at time.Time
}

// lookup returns the process pid started at start, reused when it may be
// and read (and held) otherwise.
func (s *Seen) lookup(pid int32, start uint64) (proc.Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	for i, e := range s.held {
		if e.h.PID != pid || e.h.StartTime != start {
			continue
		}
		if now.Sub(e.at) < seenFor && e.h.Current() {
			return e.h.Process, nil
		}
		e.h.Close()
		s.held = append(s.held[:i], s.held[i+1:]...)
		break
	}
	h, err := s.read(pid)
	if err != nil {
		return proc.Process{}, err
	}
	p := h.Process
	if s.closed || p.StartTime != start {
		h.Close() // not the pinned process: nothing to reuse
		return p, nil
	}
	if len(s.held) == seenMax {
		s.held[0].h.Close()
		s.held = s.held[1:]
	}
	s.held = append(s.held, seen{h: h, at: now})
	return p, nil
}

func (s *Seen) read(pid int32) (*proc.Held, error) {
	if s.hold != nil {
		return s.hold(pid)
	}
	return proc.Hold(pid)
}

func (s *Seen) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// Close releases the processes held; later lookups hold none.
func (s *Seen) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.held {
		e.h.Close()
	}
	s.held, s.closed = nil, true
}
