// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lockStep is one test's attempt at a lock.
type lockStep struct {
	test string
	lock testLock
}

// TestTestLocksRefuse takes real locks in a temporary directory, step by
// step, and expects the last step refused at once, naming the problem,
// with nothing left held by it.
func TestTestLocksRefuse(t *testing.T) {
	tests := []struct {
		name    string
		held    []lockStep // taken first, all allowed
		take    lockStep
		wantErr string // "" : allowed
	}{
		{"audit then libvirtd", []lockStep{{"T", auditLock}}, lockStep{"T", libvirtdLock}, ""},
		{"audit while holding libvirtd", []lockStep{{"T", libvirtdLock}}, lockStep{"T", auditLock}, lockOrderRule},
		{"libvirtd twice", []lockStep{{"T", libvirtdLock}}, lockStep{"T", libvirtdLock}, "which T holds already"},
		{"audit twice", []lockStep{{"T", auditLock}}, lockStep{"T", auditLock}, "which T holds already"},
		{"libvirtd again after audit", []lockStep{{"T", auditLock}, {"T", libvirtdLock}}, lockStep{"T", libvirtdLock}, "which T holds already"},
		{"a subtest of the holder takes it again", []lockStep{{"T", libvirtdLock}}, lockStep{"T/case", libvirtdLock}, "which T holds already"},
		{"a subtest takes audit under its parent's libvirtd", []lockStep{{"T", libvirtdLock}}, lockStep{"T/a/b", auditLock},
			"T/a/b takes the audit lock while T holds the libvirtd lock"},
		{"a subtest takes libvirtd under its parent's audit", []lockStep{{"T", auditLock}}, lockStep{"T/case", libvirtdLock}, ""},
		{"another test's libvirtd does not order this one's audit", []lockStep{{"T", libvirtdLock}}, lockStep{"U", auditLock}, ""},
		{"a name prefix is not a parent", []lockStep{{"T", libvirtdLock}}, lockStep{"TX", auditLock}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ls := newTestLocks(dir)
			for _, s := range tt.held {
				release, err := acquireSoon(t, ls, s)
				if err != nil {
					t.Fatalf("%s taking the %s lock: %v", s.test, s.lock, err)
				}
				t.Cleanup(release)
			}
			before := heldBy(ls, tt.take.test)
			release, err := acquireSoon(t, ls, tt.take)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				release()
				return
			}
			if err == nil {
				release()
				t.Fatalf("allowed; want refused with %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("refused with %q; want it to say %q", err, tt.wantErr)
			}
			if after := heldBy(ls, tt.take.test); len(after) != len(before) {
				t.Errorf("%s holds %v after the refusal; held %v before", tt.take.test, after, before)
			}
		})
	}
}

// TestTestLocksHappyPath takes the audit lock, then the libvirtd lock,
// through testing.TB as StartAuditd and StartLibvirtd do; the kernel
// holds both while the test runs, and its cleanup releases them for the
// next test.
func TestTestLocksHappyPath(t *testing.T) {
	dir := t.TempDir()
	ls := newTestLocks(dir)
	for i := range 2 {
		t.Run("test", func(t *testing.T) {
			ls.take(t, auditLock)
			ls.take(t, libvirtdLock)
			for _, l := range []testLock{auditLock, libvirtdLock} {
				if err := tryFlock(dir, l); !errors.Is(err, syscall.EWOULDBLOCK) {
					t.Errorf("run %d: the %s lock is free while the test holds it (%v)", i, l, err)
				}
			}
		})
		for _, l := range []testLock{auditLock, libvirtdLock} {
			if err := tryFlock(dir, l); err != nil {
				t.Errorf("run %d: the %s lock is held after the test's cleanup: %v", i, l, err)
			}
		}
		if len(ls.held) != 0 {
			t.Errorf("run %d: the registry still holds %v", i, ls.held)
		}
	}
}

// acquireSoon takes s's lock, failing the test if that waits: what the
// tests take is free, or refused before any wait.
func acquireSoon(t *testing.T, ls *testLocks, s lockStep) (func(), error) {
	t.Helper()
	type result struct {
		release func()
		err     error
	}
	done := make(chan result, 1)
	go func() {
		release, err := ls.acquire(s.test, s.lock)
		done <- result{release, err}
	}()
	select {
	case r := <-done:
		return r.release, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s waits for the %s lock: it should have been refused at once", s.test, s.lock)
		return nil, nil
	}
}

// heldBy returns what the registry says the test named name holds.
func heldBy(ls *testLocks, name string) []testLock {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return append([]testLock(nil), ls.held[name]...)
}

// tryFlock tries l's lock through an open of its own, without waiting.
func tryFlock(dir string, l testLock) error {
	f, err := os.OpenFile(filepath.Join(dir, l.file()), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// fatalTB records the failure take reports instead of failing the test.
type fatalTB struct {
	*testing.T
	msg chan string
}

func (f fatalTB) Fatalf(format string, args ...any) {
	f.msg <- fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestTestLocksFailTheTest checks that take fails the test itself,
// naming the rule, when a test takes the audit lock after the libvirtd
// lock.
func TestTestLocksFailTheTest(t *testing.T) {
	ls := newTestLocks(t.TempDir())
	ls.take(t, libvirtdLock)
	tb := fatalTB{T: t, msg: make(chan string, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ls.take(tb, auditLock)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("take waits for the audit lock: it should have failed the test at once")
	}
	select {
	case msg := <-tb.msg:
		if !strings.HasPrefix(msg, "testsys: ") || !strings.Contains(msg, lockOrderRule) {
			t.Errorf("failed with %q; want it to state the rule %q", msg, lockOrderRule)
		}
	default:
		t.Error("take returned without failing the test")
	}
}
