// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"os/exec"
	"syscall"
	"testing"
)

// Child is a process a test started with StartChild.
type Child struct{ p *process }

// StartChild starts cmd with its output captured; the child gets SIGKILL
// if the test binary dies. At cleanup it is stopped (SIGTERM, then
// SIGKILL, by pid), and its output is logged if the test failed.
func StartChild(t testing.TB, name string, cmd *exec.Cmd) *Child {
	t.Helper()
	p, err := startProcess(name, cmd)
	if err != nil {
		t.Fatalf("testsys: %v", err)
	}
	t.Cleanup(func() {
		if err := p.stop(syscall.SIGTERM, stopGrace); err != nil {
			t.Errorf("testsys: %v", err)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	return &Child{p: p}
}

// Exited reports whether the child has exited, and how.
func (c *Child) Exited() (bool, string) { return c.p.exited(), c.p.exitStatus() }

// Output is what the child has printed so far.
func (c *Child) Output() string { return c.p.output() }

// Stop stops the child now (see StartChild).
func (c *Child) Stop() error { return c.p.stop(syscall.SIGTERM, stopGrace) }
