// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a process gets to exit after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// process is a child started by this package. It is reaped by its own
// goroutine, so exited() and output() are valid at any time.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *Buffer
	done chan struct{} // closed once the child is reaped
	err  error         // Wait's result; read only after done is closed
}

// startProcess starts cmd with its stdout and stderr captured. The child
// gets SIGKILL if the test binary dies (StartProcess), so a crashed test
// leaves no daemon behind (a child that changes its uid itself, like
// polkitd, loses this, but it exits with its bus).
func startProcess(name string, cmd *exec.Cmd) (*process, error) {
	p := &process{name: name, cmd: cmd, out: &Buffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.out
	}
	// A grandchild holding the output pipe must not block Wait forever.
	cmd.WaitDelay = 2 * time.Second
	if err := StartProcess(cmd); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// pid is the child's process id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the child has exited and been reaped.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitStatus describes how the child ended, for error messages.
func (p *process) exitStatus() string {
	if !p.exited() {
		return "still running"
	}
	if p.err == nil {
		return "exited with status 0"
	}
	return p.err.Error()
}

// output returns everything the child wrote so far.
func (p *process) output() string { return p.out.String() }

// stop sends sig, waits up to grace for the child to exit, then kills it
// and waits for it to be reaped. It signals through os.Process, which holds
// a pidfd on Linux, so a reused pid is never hit.
func (p *process) stop(sig syscall.Signal, grace time.Duration) error {
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s (pid %d): %w", p.name, p.pid(), err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s (pid %d): %w", p.name, p.pid(), err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, p.pid())
	}
}

// Buffer is a bytes.Buffer safe for concurrent writes (a child's stdout
// and stderr copiers, a logger's goroutines) and reads from tests.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Len is the number of bytes written so far; an offset for later reads.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// running is a daemon a test started: the process, when there is one.
// Bus and Polkitd embed it.
type running struct {
	mu sync.Mutex
	p  *process
}

// PID is the daemon's process id, or 0 when it is not running.
func (r *running) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p == nil || r.p.exited() {
		return 0
	}
	return r.p.pid()
}

// Output is what the daemon has printed, for failure messages.
func (r *running) Output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p == nil {
		return ""
	}
	return r.p.output()
}
