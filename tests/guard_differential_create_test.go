// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// The probes of objects that exist only once created (volumes, network
// filter bindings, interfaces, node devices) and of documents libvirt
// refuses to parse, for TestGuardDifferential.

// guardDiffCreateRule lets the users create in ways that depend on the
// details libvirt sends for an object not created yet: A volumes in the
// test pool whose name starts "vah-gdiff-a" and bindings without a link
// device to clean-traffic; B volumes for which it suggests no key, and
// node devices "written" (defined, not started). A detail libvirt leaves
// NULL reaches polkit as acl.NullDetail.
const guardDiffCreateRule = `polkit.addRule(function(action, subject) {
    var none = %q, a = %q, b = %q;
    if (action.id == "org.libvirt.api.storage-vol.create" && action.lookup("pool_name") == "vah-gdiff-pool0") {
        if (subject.user == a && action.lookup("vol_name").indexOf("vah-gdiff-a") == 0) {
            return polkit.Result.YES;
        }
        if (subject.user == b && action.lookup("vol_key") == none) {
            return polkit.Result.YES;
        }
    }
    if (action.id == "org.libvirt.api.nwfilter-binding.create" && subject.user == a &&
        action.lookup("nwfilter_binding_linkdev") == none && action.lookup("nwfilter_binding_filter") == "clean-traffic" &&
        action.lookup("nwfilter_binding_portdev") == "vnet-vah-gdiff") {
        return polkit.Result.YES;
    }
    if (action.id == "org.libvirt.api.node-device.write" && subject.user == b && action.lookup("node_device_name") == "new device") {
        return polkit.Result.YES;
    }
    return polkit.Result.NOT_HANDLED;
});`

// diffCreateObjects are the documents of the create probes, by file name.
var diffCreateObjects = map[string]string{
	"vol-key.xml":     "<volume><name>vah-gdiff-a-key</name><key>/suggested/key</key><capacity unit='KiB'>64</capacity></volume>",
	"vol-b.xml":       "<volume><name>vah-gdiff-b-xml</name><capacity unit='KiB'>64</capacity></volume>",
	"vol-from.xml":    "<volume><name>vah-gdiff-c-clone</name><capacity unit='KiB'>64</capacity></volume>",
	"vol-noname.xml":  "<volume><capacity unit='KiB'>64</capacity></volume>",
	"vol-broken.xml":  "<volume><name>vah-gdiff-broken</name>",
	"binding.xml":     diffBinding(""),
	"binding-eth.xml": diffBinding("<linkdev name='eth0'/>"),
	"binding-nodev.xml": "<filterbinding><owner><name>x</name><uuid>a0000000-0000-4000-8000-00000000000a</uuid></owner>" +
		"<filterref filter='clean-traffic'/></filterbinding>",
	"iface.xml":        "<interface type='ethernet' name='vah-gdiff-if'><mac address='52:54:00:00:00:77'/></interface>",
	"nodedev.xml":      "<device><parent>{pciparent}</parent><capability type='mdev'><type id='vah-gdiff'/></capability></device>",
	"broken.xml":       "<domain type='qemu'>\n  <name>vah-gdiff-broken</name>\n  <memory>65536</memory>\n",
	"wrong-root.xml":   "<network><name>vah-gdiff-broken</name></network>",
	"bad-entity.xml":   "<domain type='qemu'><name>vah&gdiff;</name></domain>",
	"binding-root.xml": "<binding/>",
}

// pciParent names a PCI device of this machine as libvirt's node device
// driver does (pci_DDDD_BB_SS_F): a parent whose address libvirt finds,
// so that it parses an mdev's definition and comes to its access check
// (nodeDeviceDefValidateMdev), after which creating one fails (no
// mdevctl, no such mdev type).
func pciParent(t *testing.T) string {
	t.Helper()
	devs, err := os.ReadDir("/sys/bus/pci/devices")
	if err != nil || len(devs) == 0 {
		t.Fatalf("no PCI device to be an mdev's parent: %v", err)
	}
	return "pci_" + strings.NewReplacer(":", "_", ".", "_").Replace(devs[0].Name())
}

func diffBinding(linkdev string) string {
	return "<filterbinding><owner><name>x</name><uuid>a0000000-0000-4000-8000-00000000000a</uuid></owner>" +
		"<portdev name='vnet-vah-gdiff'/>" + linkdev + "<mac address='52:54:00:00:00:78'/>" +
		"<filterref filter='clean-traffic'/></filterbinding>"
}

// diffCreatedVolumes are the volumes the probes may create.
var diffCreatedVolumes = []string{"vah-gdiff-src", "vah-gdiff-a-vol", "vah-gdiff-b-vol", "vah-gdiff-a-key",
	"vah-gdiff-b-xml", "vah-gdiff-c-clone"}

// createProbes are the commands creating objects from XML, for every
// user, in the "shut off" phase.
func (w *diffWorld) createProbes() [][]string {
	const pool = "vah-gdiff-pool0"
	return [][]string{
		{"vol-create-as", pool, "vah-gdiff-a-vol", "1M"},
		{"vol-create-as", pool, "vah-gdiff-b-vol", "1M"},
		{"vol-create", pool, w.file("vol-key.xml")},
		{"vol-create", pool, w.file("vol-b.xml")},
		{"vol-create-from", "--inputpool", pool, pool, w.file("vol-from.xml"), "vah-gdiff-src"},
		{"vol-create", pool, w.file("vol-noname.xml")},
		{"vol-create", pool, w.file("vol-broken.xml")},
		{"nwfilter-binding-create", w.file("binding.xml")},
		{"nwfilter-binding-create", w.file("binding-eth.xml")},
		{"nwfilter-binding-create", w.file("binding-nodev.xml")},
		{"nwfilter-binding-create", w.file("binding-root.xml")},
		{"iface-define", w.file("iface.xml")},
		{"nodedev-create", w.file("nodedev.xml")},
		{"nodedev-define", w.file("nodedev.xml")},
		{"define", w.file("broken.xml")},
		{"define", w.file("wrong-root.xml")},
		{"define", w.file("bad-entity.xml")},
	}
}

// addCreateRule installs guardDiffCreateRule for w's users until cleanup.
func (w *diffWorld) addCreateRule(t *testing.T, pk *testsys.Polkitd) {
	t.Helper()
	pk.AddRule(t, "guard-diff-create", fmt.Sprintf(guardDiffCreateRule, acl.NullDetail, w.users[0].Name, w.users[1].Name))
}

// removeCreated removes what the create probes may have created.
func removeCreated(lv *testsys.Libvirtd) {
	for _, v := range diffCreatedVolumes {
		lv.Virsh(nil, "vol-delete", "--pool", "vah-gdiff-pool0", v)
	}
	lv.Virsh(nil, "nwfilter-binding-delete", "vnet-vah-gdiff")
}

// knownDifference says why libvirtd and the guard may answer a probe
// differently, and how: libvirtd refuses it before its access check for
// a reason the guard cannot know, and the guard denies it instead of
// forwarding what policy denies. Both refuse.
func knownDifference(key string) (notDenied string, ok bool) {
	// Debian's libvirt has the udev interface backend only (no netcf),
	// which defines no interfaces: virInterfaceDefineXML answers "not
	// supported" before any check. The guard decides the definition as
	// netcf's libvirt would, and forwards it only when policy allows.
	if strings.Contains(key, ": iface-define ") && !strings.HasPrefix(key, "admin:") {
		return "this function is not supported by the connection driver: virInterfaceDefineXML", true
	}
	return "", false
}

// checkCreatePolicy checks outcomes guardDiffCreateRule implies, so that
// the comparison compares decisions made on the created objects' details.
func (w *diffWorld) checkCreatePolicy(t *testing.T, denied map[string]bool, outs map[string]string) {
	t.Helper()
	const pool = "vah-gdiff-pool0"
	for key, want := range map[string]bool{
		"A: vol-create-as " + pool + " vah-gdiff-a-vol 1M": false, "A: vol-create-as " + pool + " vah-gdiff-b-vol 1M": true,
		"B: vol-create-as " + pool + " vah-gdiff-b-vol 1M":    false,
		"A: vol-create " + pool + " " + w.file("vol-key.xml"): false, "B: vol-create " + pool + " " + w.file("vol-key.xml"): true,
		"B: vol-create " + pool + " " + w.file("vol-b.xml"):                                                     false,
		"A: vol-create-from --inputpool " + pool + " " + pool + " " + w.file("vol-from.xml") + " vah-gdiff-src": true,
		"B: vol-create-from --inputpool " + pool + " " + pool + " " + w.file("vol-from.xml") + " vah-gdiff-src": false,
		"A: nwfilter-binding-create " + w.file("binding.xml"):                                                   false, "B: nwfilter-binding-create " + w.file("binding.xml"): true,
		"A: nwfilter-binding-create " + w.file("binding-eth.xml"):     true,
		"admin: nwfilter-binding-create " + w.file("binding-eth.xml"): false,
		"A: nodedev-define " + w.file("nodedev.xml"):                  true, "B: nodedev-define " + w.file("nodedev.xml"): false,
		"B: nodedev-create " + w.file("nodedev.xml"): true, "admin: nodedev-create " + w.file("nodedev.xml"): false,
		"A: iface-define " + w.file("iface.xml"): true, "admin: iface-define " + w.file("iface.xml"): false,
	} {
		got, ok := denied[key]
		if !ok || got != want {
			t.Errorf("%s: denied=%v (ran: %v), want %v\n%s", key, got, ok, want, outs[key])
		}
	}
	// virsh -q says nothing when it succeeds.
	for _, k := range []string{"A: vol-create-as " + pool + " vah-gdiff-a-vol 1M", "B: vol-create " + pool + " " + w.file("vol-b.xml"),
		"A: nwfilter-binding-create " + w.file("binding.xml")} {
		if out := outs[k]; strings.Contains(out, "error") {
			t.Errorf("%s through the guard:\n%s", k, out)
		}
	}
}

// checkSameErrors requires the guard to answer a document libvirt
// refuses to parse as libvirtd does: the same message, or for a document
// that is not well formed, the same error up to the parser's own words
// (libxml2's in libvirtd, Go's in the guard): "(domain_definition):LINE: ".
func (w *diffWorld) checkSameErrors(t *testing.T, theirs, ours map[string]string) {
	t.Helper()
	pool := "vah-gdiff-pool0 "
	exact := []string{"define " + w.file("wrong-root.xml"), "vol-create " + pool + w.file("vol-noname.xml"),
		"nwfilter-binding-create " + w.file("binding-nodev.xml"), "nwfilter-binding-create " + w.file("binding-root.xml")}
	prefix := map[string]string{
		"define " + w.file("broken.xml"):                "(domain_definition):",
		"define " + w.file("bad-entity.xml"):            "(domain_definition):1: ",
		"vol-create " + pool + w.file("vol-broken.xml"): "(storage_volume_definition):1: ",
	}
	// What the guard lets through, libvirtd answers as it answers
	// the admin directly: its errors after the access check pass
	// unchanged (Debian's libvirtd defines no interfaces; no mdevctl).
	for _, cmd := range []string{"iface-define " + w.file("iface.xml"), "nodedev-create " + w.file("nodedev.xml"),
		"nodedev-define " + w.file("nodedev.xml")} {
		if k := "admin: " + cmd; theirs[k] != ours[k] || theirs[k] == "" {
			t.Errorf("%s:\nlibvirtd: %s\nguard:    %s", k, theirs[k], ours[k])
		}
	}
	for _, label := range w.labels {
		for _, cmd := range exact {
			k := label + ": " + cmd
			if theirs[k] != ours[k] || theirs[k] == "" {
				t.Errorf("%s:\nlibvirtd: %s\nguard:    %s", k, theirs[k], ours[k])
			}
		}
		for cmd, p := range prefix {
			k := label + ": " + cmd
			lt, lo := errorLines(theirs[k]), errorLines(ours[k])
			if len(lt) < 2 || len(lo) < 2 || lt[0] != lo[0] || !strings.HasPrefix(lt[1], "error: "+p) ||
				!strings.HasPrefix(lo[1], "error: "+p) {
				t.Errorf("%s:\nlibvirtd: %s\nguard:    %s", k, theirs[k], ours[k])
			}
		}
	}
}

func errorLines(out string) []string {
	return strings.Split(strings.TrimSpace(out), "\n")
}

// checkRefusalsAudited requires a refusal record for each user's define
// of a document that is not well formed: the guard answers libvirt's
// error itself, and still audits.
func checkRefusalsAudited(t *testing.T, aud *memAuditor, users int) {
	t.Helper()
	aud.mu.Lock()
	defer aud.mu.Unlock()
	n := 0
	for _, d := range aud.denials {
		if strings.HasPrefix(d, "REMOTE_PROC_DOMAIN_DEFINE_XML") && strings.Contains(d, "(domain_definition)") {
			n++
		}
	}
	// broken.xml and bad-entity.xml, by each user.
	if n != 2*users {
		t.Errorf("%d refusals of malformed definitions audited, want %d:\n%s", n, 2*users, strings.Join(aud.denials, "\n"))
	}
}
