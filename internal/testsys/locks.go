// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// testLock is one of the machine-wide locks that serialise tests, across
// test binaries, on what only one may use at a time. A test takes them in
// the order declared here: two tests that took them in opposite orders
// would each wait for the other's forever (one did, against the bench).
type testLock int

const (
	// auditLock (StartAuditd, StartAuditdIn): audit's enabled flag and
	// backlog limit are machine-wide, and only one auditd can run.
	auditLock testLock = iota
	// libvirtdLock (StartLibvirtd, LockLibvirtd): every system libvirtd
	// shares /run/libvirt/qemu (driver.pid, the domains' state), so only
	// one may run on the machine at a time.
	libvirtdLock
)

// file names the lock's file in the lock directory.
func (l testLock) file() string {
	if l == auditLock {
		return "virt-acl-helper-auditd.lock"
	}
	return "virt-acl-helper-libvirtd.lock"
}

func (l testLock) String() string {
	if l == auditLock {
		return "audit"
	}
	return "libvirtd"
}

// lockOrderRule is the rule, as the refusal states it.
const lockOrderRule = "take the audit lock before the libvirtd lock (StartAuditd before StartLibvirtd)"

// testLocks takes the machine-wide locks and keeps which tests of this
// process hold which. A flock belongs to an open file, so the kernel
// would let a test wait on a lock it holds itself, through a second open,
// forever and silently: testLocks refuses that, and a lock taken out of
// order, at once. It is safe for concurrent use (parallel tests).
type testLocks struct {
	dir  string // "" is os.TempDir(), as other test binaries find it
	mu   sync.Mutex
	held map[string][]testLock // by test name
}

// machineLocks is the process's one testLocks. It is package state
// because the kernel's is per process, not per test: the tests of a
// binary share the lock files, and only one registry can see them all.
// Its fields are guarded by its mutex; it is never replaced.
var machineLocks = newTestLocks("")

func newTestLocks(dir string) *testLocks {
	return &testLocks{dir: dir, held: map[string][]testLock{}}
}

// take takes lock for t until t's cleanup; it fails t when t (or a test
// it runs in) holds it already or holds a lock to be taken after it.
func (ls *testLocks) take(t testing.TB, lock testLock) {
	t.Helper()
	release, err := ls.acquire(t.Name(), lock)
	if err != nil {
		t.Fatalf("testsys: %v", err)
	}
	t.Cleanup(release)
}

// acquire waits for lock, for the test named name, and returns what
// releases it. It refuses at once, without waiting, what would deadlock.
func (ls *testLocks) acquire(name string, lock testLock) (release func(), err error) {
	if err := ls.claim(name, lock); err != nil {
		return nil, err
	}
	f, err := ls.lockFile(lock)
	if err != nil {
		ls.unclaim(name, lock)
		return nil, err
	}
	return func() {
		f.Close() // closing releases the lock
		ls.unclaim(name, lock)
	}, nil
}

// claim records that the test named name takes lock, unless it or a test
// it runs in (its name's prefixes, up to a "/") holds lock or a later one.
func (ls *testLocks) claim(name string, lock testLock) error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for holder := name; ; {
		for _, h := range ls.held[holder] {
			switch {
			case h == lock:
				return fmt.Errorf("%s takes the %s lock, which %s holds already: a second flock of it would wait for the first forever; take it once per test",
					name, lock, holder)
			case h > lock:
				return fmt.Errorf("%s takes the %s lock while %s holds the %s lock: %s; the other order deadlocks against tests that follow the rule",
					name, lock, holder, h, lockOrderRule)
			}
		}
		i := strings.LastIndexByte(holder, '/')
		if i < 0 {
			break
		}
		holder = holder[:i]
	}
	ls.held[name] = append(ls.held[name], lock)
	return nil
}

// unclaim forgets that the test named name holds lock.
func (ls *testLocks) unclaim(name string, lock testLock) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	var left []testLock
	for _, h := range ls.held[name] {
		if h != lock {
			left = append(left, h)
		}
	}
	if len(left) == 0 {
		delete(ls.held, name)
		return
	}
	ls.held[name] = left
}

// lockFile opens lock's file and waits for its exclusive lock.
func (ls *testLocks) lockFile(lock testLock) (*os.File, error) {
	dir := ls.dir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.OpenFile(filepath.Join(dir, lock.file()), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s test lock: %w", lock, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s test lock %s: %w", lock, f.Name(), err)
	}
	return f, nil
}
