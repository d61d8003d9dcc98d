// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/guard"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// guardDiffRule is the seed's policy as one polkit rule: each user may
// start, stop and open the console of the VM it owns, matched by UUID;
// the admin may do everything; nobody else anything beyond libvirt's
// anonymous defaults (getattr, read, search).
const guardDiffRule = `polkit.addRule(function(action, subject) {
    var prefix = "org.libvirt.api.";
    if (action.id.indexOf(prefix) != 0) {
        return polkit.Result.NOT_HANDLED;
    }
    if (subject.user == %q) {
        return polkit.Result.YES;
    }
    var owned = {%q: %q, %q: %q};
    var ops = ["domain.getattr", "domain.read", "domain.start", "domain.stop", "domain.open-device"];
    if (owned[subject.user] !== undefined && ops.indexOf(action.id.substring(prefix.length)) >= 0 &&
        action.lookup("domain_uuid") == owned[subject.user]) {
        return polkit.Result.YES;
    }
    return polkit.Result.NOT_HANDLED;
});`

// diffWorld is what both configurations of TestGuardDifferential share:
// the users, the VMs and the XML files the probes define.
type diffWorld struct {
	users   []testsys.User
	labels  []string // "A", "B", "admin"
	vms     []string // vmA, vmB
	uuids   []string
	files   string            // a directory every user may read
	objects map[string]string // file name: XML
}

// The objects the probes define from XML, by file name: networks (one
// without a <uuid>: a new object), a pool, a secret and an nwfilter.
var diffObjects = map[string]string{
	"net.xml":      "<network><name>vah-gdiff-net1</name><uuid>%s</uuid></network>",
	"net-new.xml":  "<network><name>vah-gdiff-net2</name></network>",
	"pool.xml":     "<pool type='dir'><name>vah-gdiff-pool1</name><uuid>%s</uuid><target><path>/nonexistent/vah-gdiff</path></target></pool>",
	"secret.xml":   "<secret ephemeral='no' private='yes'><uuid>%s</uuid><usage type='ceph'><name>vah-gdiff</name></usage></secret>",
	"nwfilter.xml": "<filter name='vah-gdiff-filter' chain='root'><uuid>%s</uuid></filter>",
	"net0.xml":     "<network><name>vah-gdiff-net0</name><uuid>%s</uuid></network>",
	"pool0.xml":    "<pool type='dir'><name>vah-gdiff-pool0</name><uuid>%s</uuid><target><path>%s</path></target></pool>",
}

func newDiffWorld(t *testing.T) *diffWorld {
	w := &diffWorld{labels: []string{"A", "B", "admin"}, files: guardDir(t), objects: map[string]string{}}
	w.users = []testsys.User{testsys.AddUser(t, "gdiffa"), testsys.AddUser(t, "gdiffb"), testsys.AddUser(t, "gdiffadm")}
	tok := randHex(3)
	w.vms = []string{"vah-gdiff-a-" + tok, "vah-gdiff-b-" + tok}
	w.uuids = []string{randUUID(), randUUID()}
	poolDir := filepath.Join(w.files, "pool0")
	if err := os.Mkdir(poolDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, format := range diffObjects {
		switch name {
		case "pool0.xml":
			w.objects[name] = fmt.Sprintf(format, randUUID(), poolDir)
		case "net-new.xml":
			w.objects[name] = format
		default:
			w.objects[name] = fmt.Sprintf(format, randUUID())
		}
	}
	for i, vm := range w.vms {
		w.objects[vm+".xml"] = fmt.Sprintf(guardVM, vm, w.uuids[i])
	}
	for name, doc := range diffCreateObjects {
		w.objects[name] = strings.ReplaceAll(doc, "{pciparent}", pciParent(t))
	}
	for name, doc := range w.objects {
		if err := os.WriteFile(filepath.Join(w.files, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *diffWorld) file(name string) string { return filepath.Join(w.files, name) }

// prepare defines the VMs, a network and an active pool on lv as root,
// and removes everything the probes may have defined, first (a killed
// run may have left it) and at cleanup.
func (w *diffWorld) prepare(t *testing.T, lv *testsys.Libvirtd) {
	t.Helper()
	root := func(args ...string) {
		if out, err := lv.Virsh(nil, args...); err != nil {
			t.Fatalf("virsh %s as root: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	removeAll := func() {
		for _, vm := range w.vms {
			lv.Virsh(nil, "destroy", vm)
			lv.Virsh(nil, "undefine", "--managed-save", "--snapshots-metadata", vm)
		}
		removeCreated(lv)
		for _, args := range [][]string{
			{"net-undefine", "vah-gdiff-net0"}, {"net-undefine", "vah-gdiff-net1"}, {"net-undefine", "vah-gdiff-net2"},
			{"pool-destroy", "vah-gdiff-pool0"}, {"pool-undefine", "vah-gdiff-pool0"}, {"pool-undefine", "vah-gdiff-pool1"},
			{"secret-undefine", secretUUID(w.objects["secret.xml"])}, {"nwfilter-undefine", "vah-gdiff-filter"},
		} {
			lv.Virsh(nil, args...) // fails harmlessly for what is not there
		}
	}
	removeAll() // what a killed run left behind
	t.Cleanup(removeAll)
	for _, vm := range w.vms {
		root("define", w.file(vm+".xml"))
	}
	root("net-define", w.file("net0.xml"))
	root("pool-define", w.file("pool0.xml"))
	root("pool-start", "vah-gdiff-pool0")
	root("vol-create-as", "vah-gdiff-pool0", "vah-gdiff-src", "1M")
}

func secretUUID(doc string) string {
	_, rest, _ := strings.Cut(doc, "<uuid>")
	uuid, _, _ := strings.Cut(rest, "</uuid>")
	return uuid
}

// probes returns the virsh commands of one phase, each with its key.
func (w *diffWorld) probes(phase string) [][]string {
	var out [][]string
	perVM := func(cmds ...[]string) {
		for _, vm := range w.vms {
			for _, c := range cmds {
				args := make([]string, len(c))
				for i, a := range c {
					args[i] = strings.ReplaceAll(strings.ReplaceAll(a, "{vm}", vm), "{xml}", w.file(vm+".xml"))
				}
				out = append(out, args)
			}
		}
	}
	switch phase {
	case "shut off":
		out = append(out, []string{"list", "--all"}, []string{"net-list", "--all"}, []string{"net-info", "vah-gdiff-net0"},
			[]string{"pool-list", "--all"}, []string{"vol-list", "vah-gdiff-pool0"}, []string{"nodeinfo"},
			[]string{"capabilities"}, []string{"sysinfo"}, []string{"hostname"},
			[]string{"net-define", w.file("net.xml")}, []string{"net-define", w.file("net-new.xml")},
			[]string{"pool-define", w.file("pool.xml")}, []string{"secret-define", w.file("secret.xml")},
			[]string{"nwfilter-define", w.file("nwfilter.xml")})
		out = append(out, w.createProbes()...)
		perVM([]string{"dominfo", "{vm}"}, []string{"domstate", "{vm}"}, []string{"dumpxml", "{vm}"},
			[]string{"dumpxml", "--security-info", "{vm}"}, []string{"managedsave", "{vm}"},
			[]string{"setmem", "{vm}", "65536", "--config"}, []string{"setvcpus", "{vm}", "1", "--config"},
			[]string{"domif-setlink", "{vm}", "vnet-vah", "down", "--config"}, []string{"define", "{xml}"},
			[]string{"start", "{vm}"})
	case "running":
		perVM([]string{"console", "{vm}"}, []string{"suspend", "{vm}"}, []string{"resume", "{vm}"},
			[]string{"reboot", "{vm}"}, []string{"qemu-monitor-command", "{vm}", `{"execute":"query-status"}`},
			[]string{"save", "{vm}", "/nonexistent/vah-gdiff.save"},
			[]string{"snapshot-create-as", "{vm}", "vahsnap", "--disk-only", "--no-metadata"},
			[]string{"domif-setlink", "{vm}", "vnet-vah", "down"}, []string{"shutdown", "{vm}"},
			[]string{"destroy", "{vm}"})
	case "last":
		perVM([]string{"undefine", "{vm}"})
	}
	return out
}

// run runs every probe as every user against uri, with lv's VMs started
// by root between the phases, and returns for each "user: command"
// whether it was denied access, and the outputs.
func (w *diffWorld) run(t *testing.T, lv *testsys.Libvirtd, uri string) (denied map[string]bool, outs map[string]string) {
	t.Helper()
	denied, outs = map[string]bool{}, map[string]string{}
	for _, phase := range []string{"shut off", "running", "last"} {
		if phase == "running" {
			for _, vm := range w.vms {
				lv.Virsh(nil, "start", vm) // one of the users may have started it
			}
		}
		for _, args := range w.probes(phase) {
			for i, u := range w.users {
				key := w.labels[i] + ": " + strings.Join(args, " ")
				var out string
				if args[0] == "console" {
					out = consoleAs(t, uri, u, args[1])
				} else {
					out, _ = testsys.VirshURI(uri, &u, args...)
				}
				if strings.Contains(out, "failed to connect") {
					t.Fatalf("%s: %s", key, out)
				}
				denied[key] = strings.Contains(out, "access denied")
				outs[key] = out
			}
		}
	}
	return denied, outs
}

// TestGuardDifferential runs the same virsh commands as the same users
// under the same polkit rule against libvirtd's own polkit access driver
// and against the guard (in front of a libvirtd without access control),
// and requires the same allow/deny for each.
func TestGuardDifferential(t *testing.T) {
	testsys.NeedRoot(t)
	testsys.NeedCommand(t, "script")
	bus := testsys.StartBus(t)
	pk := testsys.StartPolkitd(t, bus)
	w := newDiffWorld(t)
	var theirs, ours map[string]bool
	var theirOut, ourOut map[string]string
	// One libvirtd at a time (testsys.StartLibvirtd's lock): each
	// configuration runs in a subtest, whose cleanup stops its libvirtd.
	t.Run("libvirtd polkit driver", func(t *testing.T) {
		lv := testsys.StartLibvirtd(t, testsys.LibvirtdOptions{AccessDrivers: []string{"polkit"}, Bus: bus})
		w.addRule(t, pk)
		w.prepare(t, lv)
		theirs, theirOut = w.run(t, lv, lv.URI)
	})
	t.Run("guard", func(t *testing.T) {
		lv := testsys.StartLibvirtd(t, testsys.LibvirtdOptions{}) // access_drivers: none
		w.addRule(t, pk)
		w.prepare(t, lv)
		aud := &memAuditor{}
		uri := serveGuard(t, filepath.Join(guardDir(t), "guard.sock"), guard.Options{
			Runtime: newGuardRuntime(t, bus, aud), Upstream: lv.Socket,
			// Compared as libvirt decides them (domain:write); by default
			// the guard refuses them whatever the policy.
			AllowQEMUCommands: true,
		})
		ours, ourOut = w.run(t, lv, uri)
		checkRefusalsAudited(t, aud, len(w.users))
		if out, err := lv.Virsh(nil, "net-info", "vah-gdiff-net1"); err != nil {
			t.Errorf("the admin's net-define through the guard defined nothing: %v\n%s", err, out)
		}
	})
	if theirs == nil || ours == nil {
		t.Fatal("a configuration did not run")
	}
	keys := make([]string, 0, len(theirs))
	for k := range theirs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var allowed, deniedN, mismatches int
	for _, k := range keys {
		if want, ok := knownDifference(k); ok {
			// Checked to differ as documented, not skipped.
			if theirs[k] || !ours[k] || !strings.Contains(theirOut[k], want) {
				t.Errorf("%s: want libvirtd to answer %q and the guard to deny\nlibvirtd: %s\nguard: %s", k, want,
					strings.TrimSpace(theirOut[k]), strings.TrimSpace(ourOut[k]))
			}
			continue
		}
		if theirs[k] != ours[k] {
			mismatches++
			t.Errorf("%s: libvirtd denied=%v, guard denied=%v\nlibvirtd: %s\nguard: %s", k, theirs[k], ours[k],
				strings.TrimSpace(theirOut[k]), strings.TrimSpace(ourOut[k]))
		}
		if theirs[k] {
			deniedN++
		} else {
			allowed++
		}
	}
	t.Logf("%d cases: %d allowed, %d denied by libvirtd; %d mismatches", len(keys), allowed, deniedN, mismatches)
	w.checkPolicy(t, ours, ourOut)
	w.checkCreatePolicy(t, ours, ourOut)
	w.checkSameErrors(t, theirOut, ourOut)
	if allowed == 0 || deniedN == 0 {
		t.Errorf("the cases must include both allows (%d) and denies (%d)", allowed, deniedN)
	}
}

// addRule installs guardDiffRule for w's users until cleanup. It is
// installed only while a libvirtd runs, so that its lock keeps the rule
// away from other tests' users.
func (w *diffWorld) addRule(t *testing.T, pk *testsys.Polkitd) {
	t.Helper()
	pk.AddRule(t, "guard-diff", fmt.Sprintf(guardDiffRule, w.users[2].Name,
		w.users[0].Name, w.uuids[0], w.users[1].Name, w.uuids[1]))
	w.addCreateRule(t, pk)
}

// checkPolicy checks a few outcomes the rule implies, so that the
// comparison is known to compare something: the owner starts and opens
// the console of its VM, another user cannot, the admin defines a
// network from XML that a user may not.
func (w *diffWorld) checkPolicy(t *testing.T, denied map[string]bool, outs map[string]string) {
	t.Helper()
	vmA, vmB := w.vms[0], w.vms[1]
	// (virsh itself refuses to start a running VM: A starts vmA first,
	// then B is asked about vmB, before its owner starts it.)
	for key, want := range map[string]bool{
		"A: start " + vmA: false, "A: start " + vmB: true, "B: start " + vmB: false,
		"A: console " + vmA: false, "B: console " + vmA: true,
		"A: suspend " + vmA: true, "admin: suspend " + vmA: false,
		"A: net-define " + w.file("net.xml"): true, "admin: net-define " + w.file("net.xml"): false,
		"A: net-define " + w.file("net-new.xml"): true, "admin: net-define " + w.file("net-new.xml"): false,
	} {
		got, ok := denied[key]
		if !ok || got != want {
			t.Errorf("%s: denied=%v (ran: %v), want %v\n%s", key, got, ok, want, outs[key])
		}
	}
	if out := outs["A: console "+vmA]; !strings.Contains(out, "Connected to domain") {
		t.Errorf("A's console of %s:\n%s", vmA, out)
	}
}
