// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/policy"
)

// ActionsDir is where polkitd reads action definitions.
const ActionsDir = "/usr/share/polkit-1/actions"

// InstallHelperActions installs the helper's own polkit actions (check-other,
// flush, stats), which polkitd must know before a rule can grant them. Call
// it before StartPolkitd, which then loads them at start.
//
// Each call writes its own file, removed at its cleanup, so tests and test
// binaries running at the same time never remove each other's copy; polkit
// accepts the same action defined identically in several files.
func InstallHelperActions(t testing.TB) {
	t.Helper()
	NeedRoot(t)
	var def bytes.Buffer
	if _, err := policy.Helper().WriteTo(&def); err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(ActionsDir, fmt.Sprintf("io.github.virt-acl-helper.test-p%d-*.policy", os.Getpid()))
	if err != nil {
		t.Fatalf("testsys: install the helper's polkit actions: %v", err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	_, err = f.Write(def.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		t.Fatalf("testsys: install the helper's polkit actions: %v", err)
	}
}
