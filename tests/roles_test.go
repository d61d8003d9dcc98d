// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/guard"
	"github.com/virt-acl-helper/virt-acl-helper/internal/daemontest"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// rolesWorld is a real libvirtd enforcing polkit (access_drivers =
// [ "polkit" ]), a real polkitd, auditd, the helper's daemon and the guard
// (in front of libvirtd) asking the same polkitd, and roles managed only with virt-acl-helper roles: carol
// and dave operate their own VM each and, through their group, a shared
// one; adm administers every domain; eve has nothing.
type rolesWorld struct {
	*daemontest.World
	lv                     *testsys.Libvirtd
	d                      *daemontest.Daemon
	auditd                 *testsys.Auditd
	dir, rules             string
	carol, dave, adm, eve  testsys.User
	group                  string
	vmCarol, vmDave, vmAll string
	uuid                   map[string]string // VM name -> UUID
	guardURI               string            // the guard in front of libvirtd
	guardAudit             *memAuditor
}

func newRolesWorld(t *testing.T) *rolesWorld {
	w := &rolesWorld{World: daemontest.NewWorld(t), uuid: make(map[string]string)}
	w.auditd = testsys.StartAuditd(t)
	tok := randHex(3)
	w.group = "vah-ops-" + tok
	w.carol = namedUser(t, "vah-carol-"+tok, w.group)
	w.dave = namedUser(t, "vah-dave-"+tok, w.group)
	w.adm, w.eve = testsys.AddUser(t, "radm"), testsys.AddUser(t, "reve")
	w.lv = testsys.StartLibvirtd(t, testsys.LibvirtdOptions{AccessDrivers: []string{"polkit"}, Bus: w.Bus})
	w.vmCarol, w.vmDave, w.vmAll = "vm-carol-"+tok, "vm-dave-"+tok, "vm-shared-"+tok
	for _, vm := range []string{w.vmCarol, w.vmDave, w.vmAll} {
		w.uuid[vm] = randUUID()
		w.lv.Define(t, vm, fmt.Sprintf(guardVM, vm, w.uuid[vm]))
	}
	w.guardAudit = &memAuditor{}
	sock := filepath.Join(w.Dir, "guard.sock")
	w.guardURI = serveGuard(t, sock, guard.Options{Runtime: newGuardRuntime(t, w.Bus, w.guardAudit), Upstream: w.lv.Socket})
	w.dir = filepath.Join(w.Dir, "roles")
	// A name testsys's stale-rule cleanup knows, should this binary die.
	w.rules = filepath.Join(testsys.RulesDir, fmt.Sprintf("50-vah-test-p%d-999999-roles.rules", os.Getpid()))
	t.Cleanup(func() { os.Remove(w.rules) })
	w.d = w.Activate(t, w.Config(t, "roles.conf", "access_drivers = [ \"polkit\" ]\n"))
	return w
}

// cli runs the helper's command line as root, as an administrator would.
func (w *rolesWorld) cli(args ...string) (string, error) {
	cmd := exec.Command(w.Bin, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DBUS_SYSTEM_BUS_ADDRESS=" + w.Bus.Address, "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (w *rolesWorld) mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := w.cli(args...)
	if err != nil {
		t.Fatalf("virt-acl-helper %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// roles runs a roles command on the world's files, rules and libvirtd.
func (w *rolesWorld) roles(t *testing.T, args ...string) string {
	t.Helper()
	return w.mustCLI(t, append(append([]string{"roles"}, args...), "--dir", w.dir, "--uri", w.lv.URI, "--rules", w.rules)...)
}

// check asks the helper's daemon, as u, whether u may use perm on vm:
// true allowed, false denied; anything else fails the test.
func (w *rolesWorld) check(t *testing.T, u testsys.User, perm, vm string) bool {
	t.Helper()
	cmd := exec.Command(w.Bin, "check", "domain", perm, "--name", vm, "--uuid", w.uuid[vm], "--socket", w.d.Sock)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false
	}
	t.Fatalf("check %s %s as %s: %v\n%s", perm, vm, u.Name, err, out)
	return false
}

// virsh runs virsh as u on uri (libvirtd's or the guard's) and reports
// whether the call was allowed; a failure other than "access denied"
// fails the test.
func (w *rolesWorld) virsh(t *testing.T, uri string, u testsys.User, args ...string) bool {
	t.Helper()
	out, err := testsys.VirshURI(uri, &u, args...)
	switch {
	case err == nil:
		return true
	case strings.Contains(out, "access denied"):
		return false
	}
	t.Fatalf("virsh %s as %s: %v\n%s", strings.Join(args, " "), u.Name, err, out)
	return false
}

// explain runs roles explain and reports whether a grant allows.
func (w *rolesWorld) explain(t *testing.T, u testsys.User, perm, vm string) (bool, string) {
	t.Helper()
	out, err := w.cli("roles", "explain", "--user", u.Name, "domain", perm, "--name", vm, "--uri", w.lv.URI, "--dir", w.dir)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("roles explain %s %s %s: %v\n%s", u.Name, perm, vm, err, out)
	}
	return err == nil, strings.TrimSpace(out)
}

// newXML writes a domain definition for define.
func (w *rolesWorld) newXML(t *testing.T, name, uuid string) string {
	t.Helper()
	path := filepath.Join(w.Dir, name+".xml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(guardVM, name, uuid)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (w *rolesWorld) grantAll(t *testing.T) {
	w.roles(t, "grant", "operator", "domain", "--user", w.carol.Name, "--name", w.vmCarol)
	w.roles(t, "grant", "operator", "domain", "--user", w.dave.Name, "--name", w.vmDave)
	w.roles(t, "grant", "operator", "domain", "--group", w.group, "--name", w.vmAll)
	w.roles(t, "grant", "admin", "domain", "--user", w.adm.Name, "--all")
}

// rolesCase is one request, asked of libvirtd (virsh), of the helper
// (check) and of roles explain, which must all give the same answer.
type rolesCase struct {
	who   string
	perm  string // libvirt permission the virsh command needs
	vm    string
	virsh []string // the command; empty: console (open_device)
	undo  []string // the root command that puts back what virsh changed
	want  bool
}

// TestRolesEndToEnd is the roles feature as an administrator uses it:
// grants made with virt-acl-helper roles, no JavaScript written, enforced
// by libvirtd's own polkit driver and by the helper, explained, revoked
// with effect on the next call, and audited.
func TestRolesEndToEnd(t *testing.T) {
	w := newRolesWorld(t)
	w.grantAll(t)
	users := map[string]testsys.User{"carol": w.carol, "dave": w.dave, "adm": w.adm, "eve": w.eve}
	newVM, newUUID := "vm-new-"+randHex(3), randUUID()
	w.uuid[newVM] = newUUID
	editXML := w.newXML(t, w.vmCarol, w.uuid[w.vmCarol])
	newXML := w.newXML(t, newVM, newUUID)
	cases := []rolesCase{
		{"carol", "start", w.vmCarol, []string{"start", w.vmCarol}, []string{"destroy", w.vmCarol}, true},
		{"carol", "open_device", w.vmCarol, nil, nil, true},
		{"carol", "stop", w.vmCarol, []string{"destroy", w.vmCarol}, []string{"start", w.vmCarol}, true},
		{"carol", "start", w.vmDave, []string{"start", w.vmDave}, []string{"destroy", w.vmDave}, false},
		{"carol", "stop", w.vmDave, []string{"destroy", w.vmDave}, []string{"start", w.vmDave}, false},
		{"carol", "write", w.vmCarol, []string{"define", editXML}, nil, false},
		{"carol", "delete", w.vmCarol, []string{"undefine", w.vmCarol}, []string{"define", editXML}, false},
		{"carol", "start", w.vmAll, []string{"start", w.vmAll}, []string{"destroy", w.vmAll}, true},
		{"dave", "stop", w.vmAll, []string{"destroy", w.vmAll}, []string{"start", w.vmAll}, true},
		{"dave", "start", w.vmDave, []string{"start", w.vmDave}, []string{"destroy", w.vmDave}, true},
		{"dave", "open_device", w.vmDave, nil, nil, true},
		{"dave", "stop", w.vmDave, []string{"destroy", w.vmDave}, []string{"start", w.vmDave}, true},
		{"dave", "start", w.vmCarol, []string{"start", w.vmCarol}, []string{"destroy", w.vmCarol}, false},
		{"eve", "start", w.vmCarol, []string{"start", w.vmCarol}, []string{"destroy", w.vmCarol}, false},
		{"eve", "open_device", w.vmCarol, nil, nil, false},
		{"eve", "start", w.vmAll, []string{"start", w.vmAll}, []string{"destroy", w.vmAll}, false},
		{"adm", "start", w.vmDave, []string{"start", w.vmDave}, []string{"destroy", w.vmDave}, true},
		{"adm", "stop", w.vmDave, []string{"destroy", w.vmDave}, []string{"start", w.vmDave}, true},
		{"adm", "write", newVM, []string{"define", newXML}, []string{"undefine", newVM}, true},
		{"adm", "delete", newVM, []string{"undefine", newVM}, []string{"define", newXML}, true},
	}
	for _, c := range cases {
		w.ask(t, users[c.who], c)
	}
	if !w.guardAudit.saw(guard.FrontEnd, "REMOTE_PROC_DOMAIN_CREATE", true) || !w.guardAudit.saw(guard.FrontEnd, "REMOTE_PROC_DOMAIN_CREATE", false) {
		t.Errorf("the guard did not decide DOMAIN_CREATE both ways: %v", w.guardAudit.ops())
	}
	t.Run("revoke applies on the next call", func(t *testing.T) { w.revoke(t) })
	t.Run("show and the rendered file", func(t *testing.T) { w.showAndFile(t) })
	t.Run("audit records of the changes", func(t *testing.T) { w.audited(t) })
}

// revoke takes carol's grant away after the helper cached an allow.
func (w *rolesWorld) revoke(t *testing.T) {
	for i := 0; i < 2; i++ { // the second answer comes from the cache
		if !w.check(t, w.carol, "start", w.vmCarol) {
			t.Fatal("carol may not start her VM before the revoke")
		}
	}
	// The guard's engine caches an allow too.
	if !w.virsh(t, w.guardURI, w.carol, "start", w.vmCarol) {
		t.Fatal("the guard does not let carol start her VM before the revoke")
	}
	if out, err := w.lv.Virsh(nil, "destroy", w.vmCarol); err != nil {
		t.Fatalf("destroy: %v\n%s", err, out)
	}
	w.roles(t, "revoke", "operator", "domain", "--user", w.carol.Name, "--name", w.vmCarol)
	if w.check(t, w.carol, "start", w.vmCarol) {
		t.Error("the helper still allows carol to start her VM after the revoke (stale cache)")
	}
	if w.virsh(t, w.lv.URI, w.carol, "start", w.vmCarol) {
		t.Error("libvirtd still lets carol start her VM after the revoke")
	}
	if w.virsh(t, w.guardURI, w.carol, "start", w.vmCarol) {
		t.Error("the guard still lets carol start her VM after the revoke")
	}
	if ok, why := w.explain(t, w.carol, "start", w.vmCarol); ok {
		t.Errorf("explain after the revoke: %s", why)
	}
	if !w.check(t, w.carol, "start", w.vmAll) {
		t.Error("the revoke took the group's grant on the shared VM too")
	}
}

func (w *rolesWorld) showAndFile(t *testing.T) {
	out := w.mustCLI(t, "roles", "show", "--user", w.dave.Name, "--dir", w.dir)
	for _, want := range []string{"operator on domain " + w.uuid[w.vmDave] + " (" + w.vmDave + "), by user " + w.dave.Name,
		"operator on domain " + w.uuid[w.vmAll] + " (" + w.vmAll + "), by group " + w.group} {
		if !strings.Contains(out, want) {
			t.Errorf("roles show %s lacks %q:\n%s", w.dave.Name, want, out)
		}
	}
	data, err := os.ReadFile(w.rules)
	if err != nil {
		t.Fatal(err)
	}
	head := "// Generated by virt-acl-helper roles apply: do not edit"
	if !strings.HasPrefix(string(data), head) || !strings.Contains(string(data), filepath.Join(w.dir, "roles.d", "grants.toml")) {
		t.Errorf("the rendered file does not say it is generated and from what:\n%.400s", data)
	}
}

func (w *rolesWorld) audited(t *testing.T) {
	uuid := w.uuid[w.vmCarol]
	out := w.auditd.WaitSearch(t, func(out string) bool {
		return strings.Contains(out, "op=roles-grant") && strings.Contains(out, "op=roles-revoke")
	}, "-m", "USYS_CONFIG", "--uuid", uuid)
	for _, want := range []string{`role="operator"`, `file="` + filepath.Join(w.dir, "roles.d", "grants.toml") + `"`, `acct="` + w.carol.Name + `"`, `vm="` + w.vmCarol + `"`, "uid=0", "res=success"} {
		if !strings.Contains(out, want) {
			t.Errorf("change records lack %s:\n%s", want, out)
		}
	}
	t.Logf("ausearch -m USYS_CONFIG --uuid %s:\n%s", uuid, out)
	// README's recipe: aureport counts them as configuration changes.
	sum := w.auditd.ReportSearch(t, []string{"-m", "USYS_CONFIG"}, "--summary", "-i")
	if strings.Contains(sum, "Number of changes in configuration: 0") {
		t.Errorf("aureport does not count the roles changes as configuration changes:\n%s", sum)
	}
	t.Logf("ausearch -m USYS_CONFIG --raw | aureport -c -i:\n%s", w.auditd.ReportSearch(t, []string{"-m", "USYS_CONFIG"}, "-c", "-i"))
	if out := w.auditd.Search(t, "-m", "USYS_CONFIG", "-w", "--vm-name", w.vmAll, "-i"); !strings.Contains(out, "grp="+`"`+w.group) &&
		!strings.Contains(out, "grp="+w.group) {
		t.Errorf("no record of the group grant on %s:\n%s", w.vmAll, out)
	}
}

// ask puts one case to the guard, libvirtd, the helper and roles explain.
// The guard goes first; what it let through is put back as root, so that
// libvirtd sees the same state.
func (w *rolesWorld) ask(t *testing.T, u testsys.User, c rolesCase) {
	t.Helper()
	name := fmt.Sprintf("%s %s %s", c.who, c.perm, c.vm)
	var byGuard, byVirsh bool
	if c.virsh == nil {
		// virsh checks that the guest runs before it asks for the console.
		if state, _ := w.lv.Virsh(nil, "domstate", c.vm); strings.TrimSpace(state) != "running" {
			w.lv.Virsh(nil, "start", c.vm)
			defer w.lv.Virsh(nil, "destroy", c.vm)
		}
		byGuard, byVirsh = w.console(t, w.guardURI, u, c.vm), w.console(t, w.lv.URI, u, c.vm)
	} else {
		byGuard = w.virsh(t, w.guardURI, u, c.virsh...)
		if byGuard && c.undo != nil {
			if out, err := w.lv.Virsh(nil, c.undo...); err != nil {
				t.Fatalf("%s: undo %v: %v\n%s", name, c.undo, err, out)
			}
		}
		byVirsh = w.virsh(t, w.lv.URI, u, c.virsh...)
	}
	byCheck := w.check(t, u, c.perm, c.vm)
	byExplain, why := c.want, "(not asked: the VM is gone)"
	if !(c.perm == "delete" && c.want) { // explain resolves the name
		byExplain, why = w.explain(t, u, c.perm, c.vm)
	}
	t.Logf("%s: guard %v, libvirtd %v, check %v, explain %v: %s", name, byGuard, byVirsh, byCheck, byExplain, why)
	if byGuard != c.want || byVirsh != c.want || byCheck != c.want || byExplain != c.want {
		t.Errorf("%s: guard %v, libvirtd %v, check %v, explain %v; want %v", name, byGuard, byVirsh, byCheck, byExplain, c.want)
	}
}

// console opens vm's console as u on uri: true when connected, false when
// access was denied.
func (w *rolesWorld) console(t *testing.T, uri string, u testsys.User, vm string) bool {
	t.Helper()
	out := consoleAs(t, uri, u, vm)
	ok := strings.Contains(out, "Connected to domain") && !strings.Contains(out, "error")
	if !ok && !strings.Contains(out, "access denied") {
		t.Fatalf("console %s as %s on %s:\n%s", vm, u.Name, uri, out)
	}
	return ok
}
