// SPDX-License-Identifier: Apache-2.0

package packages

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// maxExposure is the highest "systemd-analyze security" exposure accepted
// for the service: 2.0 and below is "OK".
const maxExposure = 2.0

// unitRoot returns a root directory holding the installed .deb and this
// host's systemd units (the targets ours refer to), for systemd-analyze
// --root.
func unitRoot(t *testing.T) string {
	t.Helper()
	testsys.NeedCommand(t, "systemd-analyze")
	pkg, _ := debFiles(t)
	root := t.TempDir()
	cmdOutput(t, "dpkg-deb", "-x", pkg, root)
	sys := filepath.Join(root, "usr/lib/systemd")
	if err := os.MkdirAll(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	hostUnits, err := filepath.EvalSymlinks("/lib/systemd/system")
	if err != nil {
		t.Fatal(err)
	}
	cmdOutput(t, "cp", "-a", hostUnits, sys)
	// ExecReload= runs kill.
	kill, err := exec.LookPath("kill")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmdOutput(t, "cp", kill, filepath.Join(root, "bin/kill"))
	return root
}

// TestUnitsVerify runs systemd-analyze verify on the packaged units: it
// must print nothing (it only warns about unknown keys and the like).
func TestUnitsVerify(t *testing.T) {
	root := unitRoot(t)
	cmd := exec.Command("systemd-analyze", "verify", "--man=no", "--root="+root,
		"virt-acl-helper.socket", "virt-acl-helper.service")
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// exposure matches systemd-analyze security's verdict line.
var exposure = regexp.MustCompile(`Overall exposure level for virt-acl-helper\.service: ([0-9.]+) (\w+)`)

// TestUnitsSecurity prints systemd-analyze security's assessment of the
// packaged service and holds its exposure to maxExposure.
func TestUnitsSecurity(t *testing.T) {
	root := unitRoot(t)
	cmd := exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager", "--root="+root, "virt-acl-helper.service")
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "SYSTEMD_COLORS=0")
	out, err := cmd.CombinedOutput()
	t.Logf("systemd-analyze security --offline=yes:\n%s", out)
	if err != nil {
		t.Fatalf("systemd-analyze security: %v", err)
	}
	checkExposure(t, string(out))
}

func checkExposure(t *testing.T, out string) {
	t.Helper()
	m := exposure.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in systemd-analyze security's output")
	}
	level, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("exposure %q: %v", m[1], err)
	}
	t.Logf("exposure of virt-acl-helper.service: %s %s", m[1], m[2])
	if level > maxExposure {
		t.Errorf("exposure %.1f %s, want at most %.1f", level, strings.TrimSpace(m[2]), maxExposure)
	}
}
