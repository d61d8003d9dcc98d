// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// RunTestAs runs the running test binary's test named test as u, in a
// process of its own (CommandAs), and returns its output; it fails the
// test if that test fails. The test is the client side of a test that
// needs u's credentials on a socket (SO_PEERCRED): alone, it should pass
// doing nothing.
func RunTestAs(t testing.TB, u User, test string, env map[string]string) string {
	t.Helper()
	out, err := CommandAs(t, u, test, env).CombinedOutput()
	if err != nil {
		t.Fatalf("%s as %s: %v\n%s", test, u.Name, err, out)
	}
	return string(out)
}

// CommandAs returns the command that runs the running test binary's test
// named test as u: a copy of the binary in a directory u can reach
// (removed at cleanup), with env as its whole environment besides PATH
// and HOME.
func CommandAs(t testing.TB, u User, test string, env map[string]string) *exec.Cmd {
	t.Helper()
	dir, err := os.MkdirTemp("", "vah-test-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, filepath.Base(os.Args[0]))
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	cmd := exec.Command(bin, "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID}}
	return cmd
}
