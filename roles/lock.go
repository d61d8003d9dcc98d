// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockName is the lock file in the drop-in directory (not *.toml, so
// never read as roles).
const lockName = ".lock"

// Lock takes dir's change lock, waiting for it: a grant, revoke or apply
// holds it from reading the files to installing the rule, so concurrent
// changes neither lose one another's grants nor install an older policy
// last. Call the returned function to release it.
func Lock(dir string) (func(), error) {
	d := filepath.Join(dir, DropInDir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, fmt.Errorf("roles: lock: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(d, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("roles: lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("roles: lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}
