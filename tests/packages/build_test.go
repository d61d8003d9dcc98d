// SPDX-License-Identifier: Apache-2.0

package packages

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// repoRoot is the repository's absolute path: go test runs in this
// package's directory, two levels down.
var repoRoot string

// distDir holds the packages built by this test binary; TestMain removes it.
var distDir string

func TestMain(m *testing.M) {
	var err error
	if repoRoot, err = filepath.Abs("../.."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "vah-packages-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	distDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// built is one build step's result, made once per test binary.
type built struct {
	once sync.Once
	path string
	err  error
}

var tarball, deb, rpmPkg built

// version is the project's version, from VERSION.
func version(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// runScript runs one of packaging/'s build scripts and returns the last
// line it prints (the path of what it built, by convention), or an error
// with all its output.
func runScript(script string, args ...string) ([]string, error) {
	cmd := exec.Command(filepath.Join(repoRoot, script), args...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s: %v:\n%s", script, err, tail(string(out), 60))
	}
	var paths []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, distDir+"/") {
			paths = append(paths, line)
		}
	}
	return paths, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sourceTarball builds the source tarball (with vendor/) once.
func sourceTarball(t testing.TB) string {
	t.Helper()
	testsys.NeedCommand(t, "git")
	testsys.NeedCommand(t, "go")
	tarball.once.Do(func() {
		paths, err := runScript("packaging/source.sh", distDir)
		if err == nil && len(paths) != 1 {
			err = fmt.Errorf("source.sh printed %q, want one tarball", paths)
		}
		if err == nil {
			tarball.path = paths[0]
		}
		tarball.err = err
	})
	if tarball.err != nil {
		t.Fatalf("building the source tarball: %v", tarball.err)
	}
	return tarball.path
}

// debFiles builds the Debian packages once and returns the binary
// package's path and the .changes file's.
func debFiles(t testing.TB) (pkg, changes string) {
	t.Helper()
	for _, c := range []string{"dpkg-buildpackage", "dh", "dpkg-deb"} {
		testsys.NeedCommand(t, c)
	}
	src := sourceTarball(t)
	deb.once.Do(func() {
		_, deb.err = runScript("packaging/deb/build.sh", src, distDir)
	})
	if deb.err != nil {
		t.Fatalf("building the .deb: %v", deb.err)
	}
	v := version(t)
	arch := strings.TrimSpace(cmdOutput(t, "dpkg", "--print-architecture"))
	pkg = filepath.Join(distDir, fmt.Sprintf("virt-acl-helper_%s-1_%s.deb", v, arch))
	changes = filepath.Join(distDir, fmt.Sprintf("virt-acl-helper_%s-1_%s.changes", v, arch))
	for _, f := range []string{pkg, changes} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the deb build did not make %s: %v", f, err)
		}
	}
	return pkg, changes
}

// rpmFile builds the binary rpm once and returns its path.
func rpmFile(t testing.TB) string {
	t.Helper()
	testsys.NeedCommand(t, "rpmbuild")
	src := sourceTarball(t)
	rpmPkg.once.Do(func() {
		var paths []string
		paths, rpmPkg.err = runScript("packaging/rpm/build.sh", src, distDir)
		for _, p := range paths {
			if strings.HasSuffix(p, ".rpm") && !strings.Contains(filepath.Base(p), "debug") {
				rpmPkg.path = p
			}
		}
		if rpmPkg.err == nil && rpmPkg.path == "" {
			rpmPkg.err = fmt.Errorf("rpm/build.sh made no binary rpm: %q", paths)
		}
	})
	if rpmPkg.err != nil {
		t.Fatalf("building the .rpm: %v", rpmPkg.err)
	}
	return rpmPkg.path
}

// cmdOutput runs a command and returns its standard output; the test
// fails, with the command's standard error, if it does not succeed.
func cmdOutput(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}
