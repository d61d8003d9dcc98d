// SPDX-License-Identifier: Apache-2.0

package packages

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// readFileIfExists returns a file's contents, or "" if it does not exist.
func readFileIfExists(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return string(b), err
}

// entry is one file of a package: its mode bits as ls shows them.
type entry struct{ perms string }

// debEntries lists the .deb's files and symlinks (not directories), by path.
func debEntries(t testing.TB, pkg string) map[string]entry {
	t.Helper()
	files := map[string]entry{}
	for _, line := range strings.Split(cmdOutput(t, "dpkg-deb", "-c", pkg), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || strings.HasPrefix(f[0], "d") {
			continue
		}
		files[strings.TrimPrefix(f[5], ".")] = entry{perms: f[0]}
	}
	return files
}

// rpmEntries lists the .rpm's files and symlinks (not directories), by path.
func rpmEntries(t testing.TB, pkg string) map[string]entry {
	t.Helper()
	files := map[string]entry{}
	out := cmdOutput(t, "rpm", "-qp", "--qf", `[%{FILEMODES:perms} %{FILENAMES}\n]`, pkg)
	for _, line := range strings.Split(out, "\n") {
		perms, path, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(perms, "d") {
			continue
		}
		files[path] = entry{perms: perms}
	}
	return files
}

// Distribution conventions that differ between the two packages.
var (
	// Debian 12 installs units in /lib/systemd/system, Fedora in /usr/lib.
	debUnitDir = "/lib/systemd/system/"
	rpmUnitDir = "/usr/lib/systemd/system/"
	// Files only one side has, by convention: Debian's changelog and
	// copyright file and lintian overrides; Fedora's license directory (the vendored modules'
	// licenses) and build-id links.
	debOnly = regexp.MustCompile(`^/usr/share/doc/virt-acl-helper/(changelog\.Debian\.gz|copyright)$|^/usr/share/lintian/overrides/`)
	rpmOnly = regexp.MustCompile(`^/usr/share/licenses/virt-acl-helper/|^/usr/lib/\.build-id/`)
	// dh_compress compresses documentation over 4 kB; rpm does not.
	docGz = regexp.MustCompile(`^(/usr/share/doc/.*)\.gz$`)
)

func normalize(files map[string]entry, only *regexp.Regexp, unitDir string) map[string]entry {
	n := map[string]entry{}
	for path, e := range files {
		if only.MatchString(path) {
			continue
		}
		if strings.HasPrefix(path, unitDir) {
			path = "/usr/lib/systemd/system/" + strings.TrimPrefix(path, unitDir)
		}
		if m := docGz.FindStringSubmatch(path); m != nil {
			path = m[1]
		}
		n[path] = e
	}
	return n
}

// TestRPMFilesMatchDeb compares the two packages: the same files at the
// same paths with the same modes, modulo the conventions above, the same
// configuration files, and the same contents for everything but the
// binary and compressed documents.
func TestRPMFilesMatchDeb(t *testing.T) {
	testsys.NeedCommand(t, "rpm2cpio")
	testsys.NeedCommand(t, "cpio")
	debPkg, _ := debFiles(t)
	rpmPkg := rpmFile(t)
	debList := normalize(debEntries(t, debPkg), debOnly, debUnitDir)
	rpmList := normalize(rpmEntries(t, rpmPkg), rpmOnly, rpmUnitDir)
	t.Logf("files in both packages, modulo conventions:\n%s", strings.Join(keys(debList), "\n"))
	for _, p := range keys(debList) {
		r, ok := rpmList[p]
		if !ok {
			t.Errorf("%s is in the .deb but not in the .rpm", p)
			continue
		}
		if d := debList[p]; d.perms != r.perms {
			t.Errorf("%s: mode %s in the .deb, %s in the .rpm", p, d.perms, r.perms)
		}
	}
	for _, p := range keys(rpmList) {
		if _, ok := debList[p]; !ok {
			t.Errorf("%s is in the .rpm but not in the .deb", p)
		}
	}
	if len(debList) < 8 {
		t.Errorf("only %d files compared: %v", len(debList), keys(debList))
	}

	// Configuration files: Debian's conffiles, rpm's %config.
	ctl := t.TempDir()
	cmdOutput(t, "dpkg-deb", "-e", debPkg, ctl)
	conffiles, err := readFileIfExists(filepath.Join(ctl, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	rpmConf := cmdOutput(t, "rpm", "-qpc", rpmPkg)
	want := []string{"/etc/virt-acl-helper/virt-acl-helper.conf", "/etc/virt-acl-helper/xml-policy.toml"}
	if d, r := strings.Fields(conffiles), strings.Fields(rpmConf); !equal(d, want) || !equal(r, want) {
		t.Errorf("configuration files: .deb %q, .rpm %q; want only %s", d, r, want)
	}

	// Contents: both are built from one source tree.
	debRoot, rpmRoot := t.TempDir(), t.TempDir()
	cmdOutput(t, "dpkg-deb", "-x", debPkg, debRoot)
	extract := exec.Command("sh", "-c", `rpm2cpio "$1" | cpio -idm --quiet`, "sh", rpmPkg)
	extract.Dir = rpmRoot
	if out, err := extract.CombinedOutput(); err != nil {
		t.Fatalf("extracting the rpm: %v: %s", err, out)
	}
	for _, p := range []string{
		"/etc/virt-acl-helper/virt-acl-helper.conf",
		"/etc/virt-acl-helper/xml-policy.toml",
		"/usr/share/polkit-1/actions/io.github.virt-acl-helper.policy",
		"/usr/share/polkit-1/actions/io.github.virt-acl-helper.libvirt-api.policy",
		"/usr/share/doc/virt-acl-helper/examples/50-virt-acl-helper-example.rules",
		"/usr/share/virt-acl-helper/lockdown/lockdown",
		"/usr/share/virt-acl-helper/lockdown/50-virt-acl-helper-guard.conf",
		"/usr/share/virt-acl-helper/lockdown/profile.sh",
	} {
		sameContents(t, filepath.Join(debRoot, p), filepath.Join(rpmRoot, p))
	}
	for _, u := range units {
		sameContents(t, filepath.Join(debRoot, debUnitDir, u), filepath.Join(rpmRoot, rpmUnitDir, u))
	}
}

func sameContents(t *testing.T, a, b string) {
	t.Helper()
	da, errA := os.ReadFile(a)
	db, errB := os.ReadFile(b)
	if errA != nil || errB != nil {
		t.Errorf("comparing %s and %s: %v, %v", a, b, errA, errB)
		return
	}
	if !bytes.Equal(da, db) {
		t.Errorf("%s and %s differ", a, b)
	}
}

func keys(m map[string]entry) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func equal(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

// TestVersionsAgree checks that the version in VERSION is the one both
// changelogs, both packages and both binaries carry.
func TestVersionsAgree(t *testing.T) {
	v := version(t)
	debPkg, _ := debFiles(t)
	rpmPkg := rpmFile(t)

	changelog := strings.TrimSpace(cmdOutput(t, "dpkg-parsechangelog", "-l",
		filepath.Join(repoRoot, "packaging/deb/debian/changelog"), "-S", "Version"))
	if up, _, _ := strings.Cut(changelog, "-"); up != v {
		t.Errorf("debian/changelog is at %s, VERSION at %s", changelog, v)
	}
	spec, err := os.ReadFile(filepath.Join(repoRoot, "packaging/rpm/virt-acl-helper.spec"))
	if err != nil {
		t.Fatal(err)
	}
	_, cl, _ := strings.Cut(string(spec), "\n%changelog\n")
	top := regexp.MustCompile(`(?m)^\* .* - (\S+)-\S+$`).FindStringSubmatch(cl)
	if top == nil || top[1] != v {
		t.Errorf("the spec's newest %%changelog entry is %q, VERSION is %s", top, v)
	}
	if got := strings.TrimSpace(cmdOutput(t, "dpkg-deb", "-f", debPkg, "Version")); !strings.HasPrefix(got, v+"-") {
		t.Errorf(".deb version %s, VERSION %s", got, v)
	}
	if got := cmdOutput(t, "rpm", "-qp", "--qf", "%{VERSION}", rpmPkg); got != v {
		t.Errorf(".rpm version %s, VERSION %s", got, v)
	}
	root := t.TempDir()
	cmdOutput(t, "dpkg-deb", "-x", debPkg, root)
	if got, want := strings.TrimSpace(cmdOutput(t, filepath.Join(root, "usr/bin/virt-acl-helper"), "--version")), "virt-acl-helper "+v; got != want {
		t.Errorf("the .deb's binary says %q, want %q", got, want)
	}
}
