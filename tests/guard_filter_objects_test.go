// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// gfoPrefix starts the name of every object TestGuardFiltersObjects
// creates: "vah-gfo-<owner>-...", the owner "a", "b", "x" (nobody but the
// admin) or "all" (everyone). A binding's port device, which is at most
// 15 characters, is "vahgfo<owner>0".
const gfoPrefix = "vah-gfo-"

// gfoPool is the pool everyone sees, holding one volume of each owner:
// listing its volumes is filtered per volume.
const gfoPool = gfoPrefix + "all-pool"

// gfoNodeDevs are the host's node devices the restricted users may see
// (the host has them whatever the test does; none can be created here).
var gfoNodeDevs = map[string]string{"a": "computer", "b": "net_lo"}

// objectsRule lets the restricted users (owners "a" and "b") see their
// own networks, pools, volumes, secrets (by usage name), nwfilters,
// bindings (by port device) and one node device each, and the "all"
// objects; it denies them any other sight of those types. The admin may
// do anything.
const objectsRule = `polkit.addRule(function(action, subject) {
    var prefix = "org.libvirt.api.";
    if (action.id.indexOf(prefix) != 0) {
        return polkit.Result.NOT_HANDLED;
    }
    if (subject.user == %q) {
        return polkit.Result.YES;
    }
    var tags = {};
    tags[%q] = "a";
    tags[%q] = "b";
    var tag = tags[subject.user];
    if (tag === undefined) {
        return polkit.Result.NOT_HANDLED;
    }
    var op = action.id.substring(prefix.length);
    var type = op.substring(0, op.indexOf(".")), perm = op.substring(op.indexOf(".") + 1);
    if (type == "connect") {
        return perm == "getattr" || perm == "read" || perm.indexOf("search-") == 0 ? polkit.Result.YES : polkit.Result.NO;
    }
    var key = {"network": "network_name", "storage-pool": "pool_name", "storage-vol": "vol_name",
        "secret": "secret_usage_ceph", "nwfilter": "nwfilter_name",
        "nwfilter-binding": "nwfilter_binding_portdev", "node-device": "node_device_name"}[type];
    if (key === undefined || ["getattr", "read", "search-storage-vols"].indexOf(perm) < 0) {
        return polkit.Result.NO;
    }
    var name = action.lookup(key) || "";
    var devs = {"a": %q, "b": %q};
    if (name.indexOf(%q + tag + "-") == 0 || name.indexOf(%q + "all-") == 0 ||
        name.indexOf("vahgfo" + tag) == 0 || (type == "node-device" && name.indexOf(devs[tag]) == 0)) {
        return polkit.Result.YES;
    }
    return polkit.Result.NO;
});`

// objectsWorld holds what both configurations of TestGuardFiltersObjects
// share: the users, the XML files and the secrets' owners.
type objectsWorld struct {
	users   []testsys.User
	labels  []string          // "A", "B", "admin"
	tags    []string          // "a", "b", "" (the admin)
	dir     string            // XML files and pool directories, readable by all
	secrets map[string]string // UUID: owner
	binding bool              // domains with filtered interfaces run
}

func newObjectsWorld(t *testing.T) *objectsWorld {
	w := &objectsWorld{labels: []string{"A", "B", "admin"}, tags: []string{"a", "b", ""}, dir: guardDir(t),
		secrets: map[string]string{}}
	w.users = []testsys.User{testsys.AddUser(t, "gfoa"), testsys.AddUser(t, "gfob"), testsys.AddUser(t, "gfoadm")}
	for _, o := range []string{"a", "b", "x"} {
		w.secrets[randUUID()] = o
	}
	return w
}

func (w *objectsWorld) addRule(t *testing.T, pk *testsys.Polkitd) {
	t.Helper()
	pk.AddRule(t, "guard-filter-objects", fmt.Sprintf(objectsRule, w.users[2].Name, w.users[0].Name, w.users[1].Name,
		gfoNodeDevs["a"], gfoNodeDevs["b"], gfoPrefix, gfoPrefix))
}

// owns reports whether the owner tag may see the object named name; the
// admin (tag "") sees everything.
func (w *objectsWorld) owns(tag, name string) bool {
	if tag == "" {
		return true
	}
	if o, ok := w.secrets[name]; ok {
		return o == tag
	}
	return strings.HasPrefix(name, gfoPrefix+tag+"-") || strings.HasPrefix(name, gfoPrefix+"all-") ||
		strings.HasPrefix(name, "vahgfo"+tag) || strings.HasPrefix(name, gfoNodeDevs[tag])
}

// expect is what tag may see of root's view.
func (w *objectsWorld) expect(tag string, root listView) listView {
	var v listView
	for _, n := range root.Names {
		if w.owns(tag, n) {
			v.Names = append(v.Names, n)
		}
	}
	v.N = len(v.Names)
	if tag == "" {
		v.N = root.N
	}
	return v
}

func (w *objectsWorld) write(t *testing.T, name, doc string) string {
	t.Helper()
	f := filepath.Join(w.dir, name)
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// rootVirsh runs virsh as root on lv and fails the test if it fails.
func rootVirsh(t *testing.T, lv *testsys.Libvirtd, args ...string) string {
	t.Helper()
	out, err := lv.Virsh(nil, args...)
	if err != nil {
		t.Fatalf("virsh %s as root: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// prepare removes what a killed run left, creates the objects on lv as
// root, and removes them at cleanup.
func (w *objectsWorld) prepare(t *testing.T, lv *testsys.Libvirtd) {
	t.Helper()
	removeObjects(lv)
	t.Cleanup(func() { removeObjects(lv) })
	for _, o := range []string{"a", "b", "x"} {
		for _, state := range []string{"on", "off"} {
			name := gfoPrefix + o + "-" + state
			rootVirsh(t, lv, "net-define", w.write(t, name+"-net.xml", fmt.Sprintf("<network><name>%s</name></network>", name)))
			pdir := filepath.Join(w.dir, name)
			if err := os.MkdirAll(pdir, 0o755); err != nil {
				t.Fatal(err)
			}
			rootVirsh(t, lv, "pool-define", w.write(t, name+"-pool.xml", fmt.Sprintf(
				"<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>", name, pdir)))
			if state == "on" {
				rootVirsh(t, lv, "net-start", name)
				rootVirsh(t, lv, "pool-start", name)
			}
		}
		rootVirsh(t, lv, "nwfilter-define", w.write(t, o+"-filter.xml", fmt.Sprintf(
			"<filter name='%s%s-filter' chain='root'></filter>", gfoPrefix, o)))
	}
	for uuid, o := range w.secrets {
		rootVirsh(t, lv, "secret-define", w.write(t, o+"-secret.xml", secretXML(uuid, o)))
	}
	pdir := filepath.Join(w.dir, gfoPool)
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		t.Fatal(err)
	}
	rootVirsh(t, lv, "pool-create", w.write(t, "all-pool.xml", fmt.Sprintf(
		"<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>", gfoPool, pdir)))
	for _, o := range []string{"a", "b", "x"} {
		rootVirsh(t, lv, "vol-create-as", gfoPool, gfoPrefix+o+"-vol", "1M")
	}
	w.binding = w.startFiltered(t, lv)
	if w.binding {
		t.Logf("a binding as libvirtd describes it:\n%s", rootVirsh(t, lv, "nwfilter-binding-dumpxml", "vahgfoa0"))
	}
}

func secretXML(uuid, owner string) string {
	return fmt.Sprintf("<secret ephemeral='no' private='yes'><uuid>%s</uuid><usage type='ceph'><name>%s%s-secret</name></usage></secret>",
		uuid, gfoPrefix, owner)
}

// filteredVM is a TCG guest with one interface on network, under
// libvirt's clean-traffic filter: running, it makes an nwfilter binding
// on port device dev.
const filteredVM = `<domain type='qemu'>
  <name>%s</name><memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><interface type='network'><source network='%s'/><target dev='%s'/>
    <filterref filter='clean-traffic'/></interface></devices>
</domain>`

// startFiltered starts a transient guest of owners a and b on network
// vah-gfo-x-on, each with a filtered interface, and reports whether they
// run: that needs the host's nwfilter driver to apply clean-traffic.
func (w *objectsWorld) startFiltered(t *testing.T, lv *testsys.Libvirtd) bool {
	t.Helper()
	for _, o := range []string{"a", "b"} {
		f := w.write(t, o+"-vm.xml", fmt.Sprintf(filteredVM, gfoPrefix+o+"-vm", gfoPrefix+"x-on", "vahgfo"+o+"0"))
		if out, err := lv.Virsh(nil, "create", f); err != nil {
			t.Errorf("no nwfilter binding: a guest with a filtered interface did not start: %v\n%s", err, out)
			return false
		}
	}
	return true
}

// bindingCalls runs virsh nwfilter-binding-dumpxml (a lookup by port
// device, then the binding's XML) at uri as each user on the bindings of
// owners a and b, and returns which succeeded, by "label/port device".
// A call that fails for another reason than access is an error.
func (w *objectsWorld) bindingCalls(t *testing.T, uri string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	if !w.binding {
		return got
	}
	for i := range w.users {
		for _, o := range []string{"a", "b"} {
			dev := "vahgfo" + o + "0"
			out, err := testsys.VirshURI(uri, &w.users[i], "nwfilter-binding-dumpxml", dev)
			ok := err == nil && strings.Contains(out, "<portdev name='"+dev+"'/>")
			if !ok && !strings.Contains(out, "access denied") {
				t.Errorf("%s: nwfilter-binding-dumpxml %s: %v\n%s", w.labels[i], dev, err, out)
			}
			got[w.labels[i]+"/"+dev] = ok
		}
	}
	return got
}

// removeObjects removes, as root, every object on lv whose name starts
// with gfoPrefix; what is not there fails harmlessly.
func removeObjects(lv *testsys.Libvirtd) {
	names := func(args ...string) []string {
		out, _ := lv.Virsh(nil, args...)
		var ns []string
		for _, l := range strings.Split(out, "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, gfoPrefix) {
				ns = append(ns, l)
			}
		}
		return ns
	}
	for _, vm := range names("list", "--all", "--name") {
		lv.Virsh(nil, "destroy", vm)
		lv.Virsh(nil, "undefine", vm)
	}
	for _, n := range names("net-list", "--all", "--name") {
		lv.Virsh(nil, "net-destroy", n)
		lv.Virsh(nil, "net-undefine", n)
	}
	for _, p := range names("pool-list", "--all", "--name") {
		for _, v := range names("vol-list", p) {
			lv.Virsh(nil, "vol-delete", strings.Fields(v)[0], "--pool", p)
		}
		lv.Virsh(nil, "pool-destroy", p)
		lv.Virsh(nil, "pool-undefine", p)
	}
	out, _ := lv.Virsh(nil, "secret-list")
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.Contains(l, gfoPrefix) {
			lv.Virsh(nil, "secret-undefine", f[0])
		}
	}
	out, _ = lv.Virsh(nil, "nwfilter-list")
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], gfoPrefix) {
			lv.Virsh(nil, "nwfilter-undefine", f[1])
		}
	}
}

// virshLists are the virsh list commands compared, by label, and which
// field of each output line is the object's name.
var virshLists = []struct {
	label string
	args  []string
	field int
}{
	{"virsh net-list --all", []string{"net-list", "--all", "--name"}, 0},
	{"virsh net-list", []string{"net-list", "--name"}, 0},
	{"virsh pool-list --all", []string{"pool-list", "--all", "--name"}, 0},
	{"virsh vol-list", []string{"vol-list", gfoPool}, 0},
	{"virsh nodedev-list", []string{"nodedev-list"}, 0},
	{"virsh secret-list", []string{"secret-list"}, 0},
	{"virsh nwfilter-list", []string{"nwfilter-list"}, 1},
	{"virsh nwfilter-binding-list", []string{"nwfilter-binding-list"}, 0},
}

// virshViews runs the virsh list commands as u (root when nil) at uri.
func virshViews(t *testing.T, uri string, u *testsys.User) map[string]listView {
	t.Helper()
	views := map[string]listView{}
	for _, l := range virshLists {
		out, err := testsys.VirshURI(uri, u, l.args...)
		if err != nil {
			t.Errorf("virsh %s as %v: %v\n%s", strings.Join(l.args, " "), u, err, out)
			continue
		}
		var v listView
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > l.field {
				v.Names = append(v.Names, f[l.field])
			}
		}
		slices.Sort(v.Names)
		v.N = len(v.Names)
		views[l.label] = v
	}
	return views
}

// userViews are what each user saw at uri (virsh) and sock (the other
// list procedures), by user label, then list label.
func (w *objectsWorld) userViews(t *testing.T, uri, sock string) map[string]map[string]listView {
	t.Helper()
	all := map[string]map[string]listView{}
	for i, u := range w.users {
		views := virshViews(t, uri, &u)
		out := testsys.RunTestAs(t, u, "TestGuardFilterCallsClient", map[string]string{"VAH_GFO_SOCK": sock, "VAH_GFO_POOL": gfoPool})
		for label, v := range parseViews(out) {
			views[label] = v
		}
		all[w.labels[i]] = views
	}
	return all
}
