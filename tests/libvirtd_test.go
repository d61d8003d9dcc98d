// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// libvirtd is a real libvirtd with access_drivers = [ "polkit" ], serving
// qemu:///system on a private socket directory and asking polkit on the
// test's bus (testsys.StartLibvirtd: one at a time on the machine).
type libvirtd struct{ *testsys.Libvirtd }

func startLibvirtd(t *testing.T, bus *testsys.Bus) *libvirtd {
	t.Helper()
	return &libvirtd{testsys.StartLibvirtd(t, testsys.LibvirtdOptions{AccessDrivers: []string{"polkit"}, Bus: bus})}
}

// virsh runs virsh against the daemon, as u when u is not nil (else root).
func (l *libvirtd) virsh(u *testsys.User, args ...string) (string, error) {
	return l.Virsh(u, args...)
}

// define defines a shut-off QEMU domain whose disk does not exist, so that
// operations permitted by policy fail only after the access check.
func (l *libvirtd) define(t *testing.T, name, uuid string) {
	t.Helper()
	xml := fmt.Sprintf(`<domain type='qemu'>
  <name>%s</name><uuid>%s</uuid><memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><disk type='file' device='disk'><source file='/nonexistent/%s.img'/><target dev='vda' bus='virtio'/></disk></devices>
</domain>`, name, uuid, name)
	f := filepath.Join(t.TempDir(), name+".xml")
	if err := os.WriteFile(f, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := l.virsh(nil, "define", f); err != nil {
		t.Fatalf("define %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := l.virsh(nil, "undefine", name); err != nil {
			t.Errorf("undefine %s: %v\n%s", name, err, out)
		}
	})
}

// namedUser creates a real user with exactly this name (libvirt's example
// rules name their users and groups) in the given supplementary groups,
// creating missing groups. Both are removed at cleanup.
func namedUser(t *testing.T, name string, groups ...string) testsys.User {
	t.Helper()
	testsys.NeedRoot(t)
	for _, g := range groups {
		if _, err := user.LookupGroup(g); err == nil {
			continue
		}
		run(t, "groupadd", g)
		t.Cleanup(func() { exec.Command("groupdel", g).Run() })
	}
	if u, err := user.Lookup(name); err == nil {
		if u.Name != testUserComment {
			t.Fatalf("user %s already exists and is not a test user; not touching it", name)
		}
		// Left by a killed test run.
		exec.Command("pkill", "-KILL", "-u", name).Run()
		run(t, "userdel", name)
	}
	args := []string{"-M", "-s", "/usr/sbin/nologin", "-c", testUserComment}
	if len(groups) > 0 {
		args = append(args, "-G", strings.Join(groups, ","))
	}
	run(t, "useradd", append(args, name)...)
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return testsys.User{Name: name, UID: uint32(uid), GID: uint32(gid)}
}

// testUserComment marks the users namedUser creates.
const testUserComment = "virt-acl-helper test user"

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
