// SPDX-License-Identifier: Apache-2.0

package daemontest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// World is what a run shares: the built binary, a world-readable
// directory for sockets and configuration, and a bus with polkitd that
// knows the helper's own actions.
type World struct {
	Bin string
	Dir string
	Bus *testsys.Bus
	PK  *testsys.Polkitd
}

// NewWorld builds the binary and starts a private bus and polkitd; all of
// it is stopped and removed at cleanup.
func NewWorld(t testing.TB) *World {
	t.Helper()
	testsys.NeedRoot(t)
	w := &World{Dir: OpenDir(t)}
	w.Bin = build(t, w.Dir)
	testsys.InstallHelperActions(t)
	w.Bus = testsys.StartBus(t)
	w.PK = testsys.StartPolkitd(t, w.Bus)
	return w
}

// Config writes a configuration file the daemon accepts (root's, 0600)
// and returns its path.
func (w *World) Config(t testing.TB, name, text string) string {
	t.Helper()
	path := filepath.Join(w.Dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// build compiles the command from this module into dir.
func build(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "virt-acl-helper")
	gobin := testsys.NeedCommand(t, goCommand())
	cmd := exec.Command(gobin, "build", "-trimpath", "-o", bin, "github.com/virt-acl-helper/virt-acl-helper/cmd/virt-acl-helper")
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(gobin)+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("daemontest: build: %v\n%s", err, out)
	}
	return bin
}

// goCommand is go from PATH, else where the project's machines install it.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// OpenDir makes a temporary directory the test users can reach, removed
// at cleanup.
func OpenDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vah-dt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
