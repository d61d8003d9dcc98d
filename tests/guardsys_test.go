// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/guard"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
)

// newGuardRuntime returns an engine runtime deciding with polkit on bus
// (no cache: every decision asks polkitd), auditing to auditor.
func newGuardRuntime(t *testing.T, bus *testsys.Bus, auditor access.Auditor) *engine.Runtime {
	t.Helper()
	// Wait out a polkitd 122 stall (testsys.PolkitStall), as the
	// differential test does: a test must not fail closed on it.
	auth, err := polkit.Dial(context.Background(), polkit.Options{Address: bus.Address, CallTimeout: testsys.PolkitAnswerTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	e, err := access.New(access.Options{Drivers: []access.Driver{access.NewPolkit(auth)}, Auditor: auditor,
		DriverTimeout: testsys.PolkitAnswerTimeout, Logger: slog.New(slog.NewTextHandler(testLog{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return engine.New(&engine.Generation{Engine: e}, engine.Options{})
}

// guardDir returns a directory for the guard's sockets that every user
// may enter, removed at cleanup.
func guardDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vah-guard-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// serveGuard serves a guard with opts on a socket at path, open to every
// user, until cleanup, and returns the URI that reaches it.
func serveGuard(t *testing.T, path string, opts guard.Options) string {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testLog{t}, nil))
	}
	srv, err := guard.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		l.Close()
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("guard: %v", err)
		}
	})
	return "qemu:///system?socket=" + path
}

// dialChild connects a test's child process (see commandAs) to the guard
// socket named by the environment variable env. Run on its own, the
// child has nothing to do: dialChild then returns nil, and the test
// passes (not a skip: CI counts skips as failures).
func dialChild(t *testing.T, env, parent string) *rawClient {
	t.Helper()
	sock := os.Getenv(env)
	if sock == "" {
		t.Logf("the client of %s; nothing to do on its own", parent)
		return nil
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	return &rawClient{c: c}
}

// envUUID is the UUID in the environment variable name.
func envUUID(name string) [16]byte {
	var u [16]byte
	b, _ := hex.DecodeString(strings.ReplaceAll(os.Getenv(name), "-", ""))
	copy(u[:], b)
	return u
}
