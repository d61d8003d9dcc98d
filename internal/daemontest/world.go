// SPDX-License-Identifier: Apache-2.0

package daemontest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

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

// polkitTimeoutSet matches a configuration that sets polkit_timeout.
var polkitTimeoutSet = regexp.MustCompile(`(?m)^\s*polkit_timeout\s*=`)

// Config writes a configuration file the daemon accepts (root's, 0600)
// and returns its path. Unless text sets polkit_timeout, the daemon waits
// testsys.PolkitAnswerTimeout for polkit: longer than a polkitd stall, so
// that one slows a test instead of turning an answer into "unavailable".
func (w *World) Config(t testing.TB, name, text string) string {
	t.Helper()
	path := filepath.Join(w.Dir, name)
	if !polkitTimeoutSet.MatchString(text) {
		text += fmt.Sprintf("polkit_timeout = %d\n", int(testsys.PolkitAnswerTimeout/time.Second))
	}
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
