// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/guard"
	"github.com/virt-acl-helper/virt-acl-helper/internal/daemontest"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/policy"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
	"github.com/virt-acl-helper/virt-acl-helper/roles"
)

// ownerRule lets the test's two users use the accepted corpus's volumes
// of pool "default" and ports on network "default", which a definition
// names. Nothing about domains, which come from roles, but create-own for
// bob on one name (the document's name is a detail rules see): without a
// create grant that names his role, the guard refuses it all the same.
const ownerRule = `polkit.addRule(function(action, subject) {
    if (subject.user != %[1]q && subject.user != %[2]q) {
        return polkit.Result.NOT_HANDLED;
    }
    var vols = %[3]s;
    if ((action.id == "org.libvirt.api.storage-vol.data-read" || action.id == "org.libvirt.api.storage-vol.data-write") &&
        action.lookup("pool_name") == "default" && vols.indexOf(action.lookup("vol_name")) >= 0) {
        return polkit.Result.YES;
    }
    if (action.id == "org.libvirt.api.network-port.create" && action.lookup("network_name") == "default") {
        return polkit.Result.YES;
    }
    if (subject.user == %[2]q && action.id == "io.github.virt-acl-helper.domain.create-own" &&
        action.lookup("domain_name") == %[4]q) {
        return polkit.Result.YES;
    }
    return polkit.Result.NOT_HANDLED;
});`

// ownerRoles: alice creates her own domains as operator; bob holds a
// grant on a UUID no domain has (a removed domain's, left behind).
const ownerRoles = `[[grant]]
role = "operator"
user = %[1]q
domain = "new"

[[grant]]
role = "viewer"
user = %[2]q
domain = %[3]q
name = "removed-long-ago"
`

// TestGuardCreateOwn: through the guard, with real virsh as real users,
// a real libvirtd enforcing polkit, polkitd running the roles' rule file and auditd:
// alice, with a create grant, defines a VM of her own and runs it; bob,
// without one, defines nothing and cannot touch hers; a UUID granted to
// someone else is refused to a new VM.
func TestGuardCreateOwn(t *testing.T) {
	dw := daemontest.NewWorld(t) // the binary, and polkitd knowing create-own
	// libvirtd enforces polkit too, as on a host with roles: the guard
	// defines alice's VM as root, since libvirtd would ask domain:write
	// on a UUID nobody could grant; her later calls it decides as hers.
	w := newXMLHost(t, testsys.LibvirtdOptions{AccessDrivers: []string{"polkit"}, Bus: dw.Bus})
	alice, bob := testsys.AddUser(t, "alice"), testsys.AddUser(t, "bob")
	bobsName := "vah-own-bob-" + randHex(3)
	dw.PK.AddRule(t, "guard-create-own", fmt.Sprintf(ownerRule, alice.Name, bob.Name, jsList(w.vols), bobsName))
	staleUUID := randUUID()
	owners := newOwners(t, dw.Bus, filepath.Join(w.dir, "roles"), fmt.Sprintf(ownerRoles, alice.Name, bob.Name, staleUUID))
	var failRecord atomic.Bool // the audit record of a grant fails
	owners.Record = func(c audit.Change) error {
		if failRecord.Load() {
			return errors.New("injected: no audit record")
		}
		return audit.WriteChange(c)
	}
	w.serve(t, dw.Bus, guard.Options{Owners: owners})
	f := w.accepted[0]
	t.Cleanup(func() { w.lv.Virsh(nil, "destroy", f.name); w.lv.Virsh(nil, "undefine", "--nvram", f.name) })

	var uuid string
	t.Run("alice defines a new VM, owns it, starts and destroys it", func(t *testing.T) {
		w.must(t, &alice, "define", f.path)
		uuid = strings.TrimSpace(w.root(t, "domuuid", f.name))
		w.must(t, &alice, "start", f.name)
		if out := w.must(t, &alice, "domstate", f.name); strings.TrimSpace(out) != "running" {
			t.Errorf("domstate %q after start", out)
		}
		w.must(t, &alice, "destroy", f.name)
	})
	t.Run("the grant is in grants.toml and roles list, and audited", func(t *testing.T) {
		managed, _ := os.ReadFile(roles.ManagedPath(owners.Dir))
		list, err := exec.Command(dw.Bin, "roles", "list", "--dir", owners.Dir).CombinedOutput()
		out := string(list)
		for _, want := range []string{alice.Name, uuid, f.name} {
			if !strings.Contains(string(managed), want) || !strings.Contains(out, want) {
				t.Errorf("%s missing from grants.toml or roles list (%v):\n%s\n%s", want, err, managed, out)
			}
		}
		w.auditd.WaitSearch(t, func(out string) bool {
			return strings.Contains(out, "op=roles-own") && strings.Contains(out, "uuid="+uuid) &&
				strings.Contains(out, `acct="`+alice.Name+`"`) && strings.Contains(out, `role="operator"`)
		}, "-m", "USYS_CONFIG", "--uuid", uuid)
		w.auditd.WaitSearch(t, func(out string) bool {
			return strings.Contains(out, "action_id="+policy.ActionCreateOwn)
		}, "-m", "USER_AVC", "-ui", fmt.Sprint(alice.UID), "--success", "yes")
	})
	t.Run("bob defines nothing and cannot touch alice's VM", func(t *testing.T) {
		g := w.accepted[1]
		if out, err := w.virsh(&bob, "define", g.path); err == nil || !strings.Contains(out, "access denied") {
			t.Errorf("bob's define: %v\n%s", err, out)
		}
		if _, err := w.lv.Virsh(nil, "dominfo", g.name); err == nil {
			t.Errorf("%s defined despite the refusal", g.name)
			w.lv.Virsh(nil, "undefine", "--nvram", g.name)
		}
		// libvirt lets anyone getattr and read a domain (its name, state and
		// XML without secrets); bob may do nothing more with alice's.
		doc := strings.Replace(string(g.text), "<name>"+g.name+"</name>", "<name>"+bobsName+"</name>", 1)
		out, err := w.virsh(&bob, "define", w.write(t, "bob.xml", doc))
		if err == nil || !strings.Contains(out, "guard.create-own") || !strings.Contains(out, "no roles create grant") {
			t.Errorf("bob's define with create-own from a polkit rule but no create grant: %v\n%s", err, out)
		}
		if _, err := w.lv.Virsh(nil, "dominfo", bobsName); err == nil {
			t.Errorf("%s defined despite the refusal", bobsName)
			w.lv.Virsh(nil, "undefine", "--nvram", bobsName)
		}
		for _, args := range [][]string{{"start", f.name}, {"dumpxml", "--security-info", f.name}, {"undefine", f.name}} {
			if out, err := w.virsh(&bob, args...); err == nil || !strings.Contains(out, "access denied") {
				t.Errorf("bob: virsh %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	})
	t.Run("when the owner cannot be recorded the VM is undefined again", func(t *testing.T) {
		g := w.accepted[2]
		failRecord.Store(true)
		defer failRecord.Store(false)
		out, err := w.virsh(&alice, "define", g.path)
		if err == nil || !strings.Contains(out, "owner could not be recorded, so it was undefined again") {
			t.Errorf("define with the record failing: %v\n%s", err, out)
		}
		if _, err := w.lv.Virsh(nil, "dominfo", g.name); err == nil {
			t.Errorf("%s is still defined", g.name)
			w.lv.Virsh(nil, "undefine", "--nvram", g.name)
		}
		if managed, _ := os.ReadFile(roles.ManagedPath(owners.Dir)); strings.Contains(string(managed), g.name) {
			t.Errorf("grants.toml keeps a grant on %s:\n%s", g.name, managed)
		}
	})
	// Definitions sharing a name or a UUID contend for the guard's
	// create-own locks of that name or UUID: of two at once, one wins and
	// one domain is owned, once.
	for _, tt := range []struct{ what, name2, uuid2 string }{
		{"one new VM", "", ""},
		{"two new VMs of one name", "", randUUID()},
		{"two new VMs of one UUID", "vah-own-twice2-" + randHex(3), ""},
	} {
		t.Run("two definitions of "+tt.what+" at once: one wins, one owner", func(t *testing.T) {
			name, u := "vah-own-twice-"+randHex(3), randUUID()
			name2, u2 := cmp.Or(tt.name2, name), cmp.Or(tt.uuid2, u)
			doc := func(name, u string) string {
				return strings.Replace(string(f.text), "<name>"+f.name+"</name>", "<name>"+name+"</name><uuid>"+u+"</uuid>", 1)
			}
			paths := []string{w.write(t, "twice.xml", doc(name, u)), w.write(t, "twice2.xml", doc(name2, u2))}
			defer w.lv.Virsh(nil, "undefine", "--nvram", name)
			defer w.lv.Virsh(nil, "undefine", "--nvram", name2)
			errs := make(chan error, 2)
			for _, path := range paths {
				go func() {
					out, err := w.virsh(&alice, "define", path)
					if err != nil {
						err = fmt.Errorf("%v: %s", err, out)
					}
					errs <- err
				}()
			}
			var failed []error
			for range 2 {
				if err := <-errs; err != nil {
					failed = append(failed, err)
				}
			}
			if len(failed) != 1 {
				t.Errorf("%d of two definitions failed, want one: %v", len(failed), failed)
			}
			pol, err := owners.Load()
			if err != nil {
				t.Fatal(err)
			}
			gs := pol.GrantsOn(acl.Domain, u)
			if u2 != u {
				gs = append(gs, pol.GrantsOn(acl.Domain, u2)...)
			}
			if len(gs) != 1 || gs[0].Subject.User != alice.Name {
				t.Errorf("grants on %s and %s: %v, want one to alice", u, u2, gs)
			}
			names := []string{name}
			if name2 != name {
				names = append(names, name2)
			}
			defined := 0
			for _, n := range names {
				if _, err := w.lv.Virsh(nil, "dominfo", n); err == nil {
					defined++
				}
			}
			if defined != 1 {
				t.Errorf("%d domains defined, want one", defined)
			}
		})
	}
	t.Run("a UUID granted to someone else is refused to a new VM", func(t *testing.T) {
		name := "vah-own-stale-" + randHex(3)
		doc := strings.Replace(string(f.text), "<name>"+f.name+"</name>", "<name>"+name+"</name><uuid>"+staleUUID+"</uuid>", 1)
		path := w.write(t, "stale.xml", doc)
		out, err := w.virsh(&alice, "define", path)
		if err == nil || !strings.Contains(out, "access denied") || !strings.Contains(out, "guard.stale-grant") {
			t.Errorf("alice's define on bob's UUID: %v\n%s", err, out)
		}
		// alice's own grant outlives her VM: once it is gone, bob may not
		// take its UUID either.
		w.root(t, "undefine", "--nvram", f.name)
		doc = strings.Replace(doc, staleUUID, uuid, 1)
		out, err = w.virsh(&bob, "define", w.write(t, "taken.xml", doc))
		if err == nil || !strings.Contains(out, "guard.stale-grant") {
			t.Errorf("bob's define on alice's removed VM's UUID: %v\n%s", err, out)
		}
		if _, err := w.lv.Virsh(nil, "dominfo", name); err == nil {
			t.Errorf("%s defined despite the refusal", name)
			w.lv.Virsh(nil, "undefine", name)
		}
	})
}

// newOwners writes text as dir's roles.toml and returns the owners'
// recorder the guard uses, with the roles applied to polkitd on bus; the
// rule file is removed at cleanup.
func newOwners(t *testing.T, bus *testsys.Bus, dir, text string) *roles.Owners {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, roles.MainFile), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	auth, err := polkit.Dial(context.Background(), polkit.Options{Address: bus.Address})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	// A name testsys's stale-rule cleanup knows, should this binary die.
	rules := filepath.Join(testsys.RulesDir, fmt.Sprintf("50-vah-test-p%d-999997-roles.rules", os.Getpid()))
	t.Cleanup(func() { os.Remove(rules) })
	o := &roles.Owners{Dir: dir, Rules: rules, Prober: roles.PolkitProber{Authority: auth}, Accounts: roles.System{},
		Wait: testsys.PolkitAnswerTimeout, Record: audit.WriteChange}
	pol, err := o.Load()
	if err != nil {
		t.Fatal(err)
	}
	in := roles.Installer{Path: rules, Prober: o.Prober, Wait: o.Wait}
	if err := in.Install(context.Background(), roles.Render(pol)); err != nil {
		t.Fatal(err)
	}
	return o
}
