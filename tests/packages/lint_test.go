// SPDX-License-Identifier: Apache-2.0

package packages

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// TestLintian runs lintian, pedantic, over the source and binary packages:
// no error, no warning that debian/*lintian-overrides does not override
// with a reason, and no stale override.
func TestLintian(t *testing.T) {
	lintian := testsys.NeedCommand(t, "lintian")
	_, changes := debFiles(t)
	cmd := exec.Command(lintian, "--pedantic", "--info", "--show-overrides", "--tag-display-limit", "0", changes)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("lintian %s:\n%s", filepath.Base(changes), out)
	if err != nil {
		t.Fatalf("lintian: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "E: "), strings.HasPrefix(line, "W: "):
			t.Errorf("lintian: %s", line)
		case strings.Contains(line, " unused-override "), strings.Contains(line, " mismatched-override "):
			t.Errorf("lintian: stale override: %s", line)
		}
	}
}

// TestRPMLint runs rpmlint with the project's settings (Fedora's policy on
// signatures, Packager and Group): no error. Warnings are logged.
func TestRPMLint(t *testing.T) {
	rpmlint := testsys.NeedCommand(t, "rpmlint")
	rpm := rpmFile(t)
	cmd := exec.Command(rpmlint, "-c", filepath.Join(repoRoot, "packaging/rpm/rpmlint.toml"), rpm)
	out, err := cmd.CombinedOutput()
	t.Logf("rpmlint %s:\n%s", filepath.Base(rpm), out)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, ": E: ") {
			t.Errorf("rpmlint: %s", line)
		}
	}
	if !regexp.MustCompile(`(?m)\b0 errors\b`).Match(out) {
		t.Errorf("rpmlint reports errors (%v)", err)
	}
}

// macro matches rpm macro syntax left in a scriptlet: %name, %{...}, %(...).
var macro = regexp.MustCompile(`%[{(]|%[A-Za-z_]`)

// TestRPMScriptlets checks that every macro in the rpm's scriptlets was
// expanded (rpm leaves an undefined %systemd_post as it is, silently) and
// that they act on the units as the .deb's maintainer scripts do.
func TestRPMScriptlets(t *testing.T) {
	rpm := rpmFile(t)
	scripts := cmdOutput(t, "rpm", "-qp", "--scripts", rpm)
	t.Logf("rpm -qp --scripts:\n%s", scripts)
	if m := macro.FindString(scripts); m != "" {
		t.Errorf("unexpanded macro %q in the rpm's scriptlets", m)
	}
	rpmPhases := splitRPMScripts(scripts)
	debPhases := debScripts(t)
	for _, c := range []struct {
		what, deb, rpm string
		want, not      []string
	}{
		// Installing enables the socket, never the service alone: the
		// socket starts it. (Debian enables and starts it; Fedora's
		// convention is systemctl preset, which follows the presets.)
		{"install", "postinst", "postinstall",
			[]string{"virt-acl-helper.socket"}, []string{"virt-acl-helper.service"}},
		// Removing stops the socket (the service with it).
		{"removal", "prerm", "preuninstall", []string{"virt-acl-helper.socket"}, nil},
	} {
		for _, side := range []struct{ pkg, phase, text string }{
			{"deb", c.deb, debPhases[c.deb]}, {"rpm", c.rpm, rpmPhases[c.rpm]},
		} {
			for _, w := range c.want {
				if !strings.Contains(side.text, w) {
					t.Errorf("%s %s (%s) does not mention %s:\n%s", side.pkg, side.phase, c.what, w, side.text)
				}
			}
			for _, n := range c.not {
				if strings.Contains(side.text, n) {
					t.Errorf("%s %s (%s) acts on %s, which the socket starts:\n%s", side.pkg, side.phase, c.what, n, side.text)
				}
			}
		}
	}
	// Both hand systemd the unit changes when the package goes.
	if !strings.Contains(debPhases["postrm"], "daemon-reload") || !strings.Contains(rpmPhases["postuninstall"], "daemon-reload") &&
		!strings.Contains(rpmPhases["postuninstall"], "systemd-update-helper") {
		t.Errorf("no daemon-reload after removal: deb postrm:\n%s\nrpm postuninstall:\n%s", debPhases["postrm"], rpmPhases["postuninstall"])
	}
}

// splitRPMScripts splits rpm -q --scripts output by phase
// ("postinstall", "preuninstall", ...).
func splitRPMScripts(s string) map[string]string {
	phases := map[string]string{}
	head := regexp.MustCompile(`^(\w+) scriptlet`)
	cur := ""
	for _, line := range strings.Split(s, "\n") {
		if m := head.FindStringSubmatch(line); m != nil {
			cur = m[1]
			continue
		}
		if cur != "" {
			phases[cur] += line + "\n"
		}
	}
	return phases
}

// debScripts returns the .deb's maintainer scripts by name.
func debScripts(t testing.TB) map[string]string {
	t.Helper()
	pkg, _ := debFiles(t)
	dir := t.TempDir()
	cmdOutput(t, "dpkg-deb", "-e", pkg, dir)
	scripts := map[string]string{}
	for _, name := range []string{"preinst", "postinst", "prerm", "postrm"} {
		if b, err := readFileIfExists(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		} else {
			scripts[name] = b
		}
	}
	return scripts
}
