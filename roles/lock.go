// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// lockName is the lock file in the drop-in directory (not *.toml, so
// never read as roles).
const lockName = ".lock"

// lockPoll is how often LockContext tries a lock held by another.
const lockPoll = 10 * time.Millisecond

// Lock takes dir's change lock, waiting for it: a grant, revoke or apply
// holds it from reading the files to installing the rule, so concurrent
// changes neither lose one another's grants nor install an older policy
// last. Call the returned function to release it.
func Lock(dir string) (func(), error) {
	return lock(dir, func(fd int) error { return flock(fd, unix.LOCK_EX) })
}

// LockContext is Lock, giving up when ctx is done: a lock held by
// another is tried again every lockPoll (flock itself cannot be
// interrupted by a context).
func LockContext(ctx context.Context, dir string) (func(), error) {
	return lock(dir, func(fd int) error {
		t := time.NewTicker(lockPoll)
		defer t.Stop()
		for {
			err := flock(fd, unix.LOCK_EX|unix.LOCK_NB)
			if !errors.Is(err, unix.EWOULDBLOCK) {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for another change: %w", ctx.Err())
			case <-t.C:
			}
		}
	})
}

// lock opens dir's lock file and takes it with take.
func lock(dir string, take func(fd int) error) (func(), error) {
	d := filepath.Join(dir, DropInDir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, fmt.Errorf("roles: lock: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(d, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("roles: lock: %w", err)
	}
	if err := take(int(f.Fd())); err != nil {
		f.Close()
		return nil, fmt.Errorf("roles: lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// flock is flock(2), tried again when a signal interrupts it.
func flock(fd, how int) error {
	for {
		if err := unix.Flock(fd, how); err != unix.EINTR {
			return err
		}
	}
}
