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

// units are the packaged units.
var units = []string{"virt-acl-helper.socket", "virt-acl-helper.service",
	"virt-acl-helper-guard.socket", "virt-acl-helper-guard-ro.socket", "virt-acl-helper-guard.service"}

// services are the packaged services, held to maxExposure.
var services = []string{"virt-acl-helper.service", "virt-acl-helper-guard.service"}

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
	cmd := exec.Command("systemd-analyze", append([]string{"verify", "--man=no", "--root=" + root}, units...)...)
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestUnitsSecurity prints systemd-analyze security's assessment of each
// packaged service and holds its exposure to maxExposure.
func TestUnitsSecurity(t *testing.T) {
	root := unitRoot(t)
	for _, svc := range services {
		cmd := exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager", "--root="+root, svc)
		cmd.Dir = "/"
		cmd.Env = append(os.Environ(), "SYSTEMD_COLORS=0")
		out, err := cmd.CombinedOutput()
		t.Logf("systemd-analyze security --offline=yes %s:\n%s", svc, out)
		if err != nil {
			t.Fatalf("systemd-analyze security %s: %v", svc, err)
		}
		checkExposure(t, svc, string(out))
	}
}

// checkExposure holds systemd-analyze security's verdict on svc to
// maxExposure.
func checkExposure(t *testing.T, svc, out string) {
	t.Helper()
	exposure := regexp.MustCompile(`Overall exposure level for ` + regexp.QuoteMeta(svc) + `: ([0-9.]+) (\w+)`)
	m := exposure.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level for %s in systemd-analyze security's output", svc)
	}
	level, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("exposure %q: %v", m[1], err)
	}
	t.Logf("exposure of %s: %s %s", svc, m[1], m[2])
	if level > maxExposure {
		t.Errorf("exposure %.1f %s, want at most %.1f", level, strings.TrimSpace(m[2]), maxExposure)
	}
}
