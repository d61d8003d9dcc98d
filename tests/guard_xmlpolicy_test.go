// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/guard"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// corpusDir holds the XML policy's corpus (package xmlpolicy's testdata).
const corpusDir = "../xmlpolicy/testdata"

// xmlRule lets the test's user and admin do anything to the corpus's
// domains (by name: the accepted ones have no UUID, so their owner is
// decided on the name), use the corpus's volumes of pool "default" and
// ports on network "default"; the admin also holds connect:write, which
// makes the guard leave its XML unfiltered. Nothing else is granted, so
// every refusal in the test is the content policy's.
const xmlRule = `polkit.addRule(function(action, subject) {
    if (subject.user != %[1]q && subject.user != %[2]q) {
        return polkit.Result.NOT_HANDLED;
    }
    var names = %[3]s, vols = %[4]s;
    if (action.id.indexOf("org.libvirt.api.domain.") == 0 && names.indexOf(action.lookup("domain_name")) >= 0) {
        return polkit.Result.YES;
    }
    if ((action.id == "org.libvirt.api.storage-vol.data-read" || action.id == "org.libvirt.api.storage-vol.data-write") &&
        action.lookup("pool_name") == "default" && vols.indexOf(action.lookup("vol_name")) >= 0) {
        return polkit.Result.YES;
    }
    if (action.id == "org.libvirt.api.network-port.create" && action.lookup("network_name") == "default") {
        return polkit.Result.YES;
    }
    if (subject.user == %[2]q && action.id == "org.libvirt.api.connect.write") {
        return polkit.Result.YES;
    }
    return polkit.Result.NOT_HANDLED;
});`

// corpusFile is one document of the corpus.
type corpusFile struct {
	path, name string
	text       []byte
}

// xmlWorld is a real libvirtd, polkitd and auditd, the guard with the
// default XML policy in front, a user and an admin.
type xmlWorld struct {
	lv          *testsys.Libvirtd
	auditd      *testsys.Auditd
	policy      *xmlpolicy.Policy
	user, admin testsys.User
	uri, dir    string
	vols        []string // the accepted corpus's volumes in pool "default"
	accepted    []corpusFile
	refused     []corpusFile
	other       []corpusFile
}

func newXMLWorld(t *testing.T) *xmlWorld {
	testsys.NeedRoot(t)
	bus := testsys.StartBus(t)
	pk := testsys.StartPolkitd(t, bus)
	w := newXMLHost(t, testsys.LibvirtdOptions{}) // access_drivers: none; the guard decides
	w.user, w.admin = testsys.AddUser(t, "xmluser"), testsys.AddUser(t, "xmladm")
	var names []string
	for _, f := range append(append([]corpusFile(nil), w.accepted...), w.refused...) {
		names = append(names, f.name)
	}
	names = append(names, "vah-xml-uuid-thief", "vah-xml-other-vol")
	pk.AddRule(t, "guard-xml-policy", fmt.Sprintf(xmlRule, w.user.Name, w.admin.Name, jsList(names), jsList(w.vols)))
	w.serve(t, bus, guard.Options{})
	return w
}

// newXMLHost starts what the XML policy's tests share: auditd, libvirtd
// (with lv's options), pool "default" with the accepted corpus's volumes
// and network "default". serve then puts the guard in front.
func newXMLHost(t *testing.T, lv testsys.LibvirtdOptions) *xmlWorld {
	testsys.NeedRoot(t)
	w := &xmlWorld{policy: xmlpolicy.Default(), dir: guardDir(t),
		accepted: readCorpus(t, "accepted"), refused: readCorpus(t, "refused"), other: readCorpus(t, "refused-other")}
	w.auditd = testsys.StartAuditd(t)
	w.lv = testsys.StartLibvirtd(t, lv)
	w.vols = w.storage(t)
	w.network(t)
	return w
}

// serve starts the guard with the default XML policy in front of
// libvirtd, asking polkitd on bus, auditing to auditd (required); opts
// may add to it.
func (w *xmlWorld) serve(t *testing.T, bus *testsys.Bus, opts guard.Options) {
	t.Helper()
	writer, err := audit.Open(audit.Config{Level: audit.Required})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writer.Close() })
	policyFile := filepath.Join(w.dir, "xml-policy.toml")
	if err := os.WriteFile(policyFile, xmlpolicy.DefaultFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := xmlpolicy.Load(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	opts.Runtime, opts.Upstream = newGuardRuntime(t, bus, access.AuditTo(writer)), w.lv.Socket
	opts.Content = guard.NewContentPolicy(loaded, false)
	w.uri = serveGuard(t, filepath.Join(w.dir, "guard.sock"), opts)
}

// readCorpus reads the corpus's files of one kind.
func readCorpus(t *testing.T, kind string) []corpusFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir, kind, "*.xml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("corpus %s: no files (%v)", kind, err)
	}
	var files []corpusFile
	for _, p := range paths {
		text, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(p)
		files = append(files, corpusFile{path: abs, name: strings.TrimSuffix(filepath.Base(p), ".xml"), text: text})
	}
	return files
}

func jsList(s []string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// storage makes pool "default" and the accepted corpus's volumes in it
// (the pool too, if the host has none), removed at cleanup. It returns
// the volumes' names.
func (w *xmlWorld) storage(t *testing.T) []string {
	t.Helper()
	if info, err := w.lv.Virsh(nil, "pool-info", "default"); err == nil && !strings.Contains(info, "running") {
		t.Fatalf("the host's pool \"default\", which the corpus names, is not running (a test's leftover? tests/reset-host.sh removes those):\n%s", info)
	} else if err != nil {
		dir := filepath.Join(w.dir, "pool")
		if err := os.Mkdir(dir, 0o711); err != nil {
			t.Fatal(err)
		}
		// Transient: it ends with libvirtd, so even a killed run leaves
		// no pool behind.
		w.root(t, "pool-create-as", "default", "dir", "--target", dir)
		t.Cleanup(func() { w.lv.Virsh(nil, "pool-destroy", "default") })
	}
	vols := []string{"vah-xml-other.raw"}
	for _, f := range w.accepted {
		uses, err := w.policy.Check(xmlpolicy.Domain, f.text)
		if err != nil {
			t.Fatalf("%s: the policy refuses an accepted file: %v", f.name, err)
		}
		for _, v := range uses.Volumes {
			vols = append(vols, v.Name)
		}
	}
	for _, v := range vols {
		if _, err := w.lv.Virsh(nil, "vol-info", "--pool", "default", v); err == nil {
			continue // several files share it
		}
		w.root(t, "vol-create-as", "default", v, "1M", "--format", "raw")
		t.Cleanup(func() { w.lv.Virsh(nil, "vol-delete", "--pool", "default", v) })
	}
	return vols[1:] // vah-xml-other.raw: a volume the user may not use
}

// network starts libvirt's network "default", which the accepted files
// name, if it is not running, and stops it at cleanup.
func (w *xmlWorld) network(t *testing.T) {
	t.Helper()
	out := w.root(t, "net-info", "default")
	if strings.Contains(out, "Active:         yes") {
		return
	}
	w.root(t, "net-start", "default")
	t.Cleanup(func() { w.lv.Virsh(nil, "net-destroy", "default") })
}

// root runs virsh as root straight to libvirtd.
func (w *xmlWorld) root(t *testing.T, args ...string) string {
	t.Helper()
	out, err := w.lv.Virsh(nil, args...)
	if err != nil {
		t.Fatalf("virsh %s as root: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// virsh runs virsh as u (nil: root) through the guard.
func (w *xmlWorld) virsh(u *testsys.User, args ...string) (string, error) {
	return testsys.VirshURI(w.uri, u, args...)
}

func (w *xmlWorld) must(t *testing.T, u *testsys.User, args ...string) string {
	t.Helper()
	out, err := w.virsh(u, args...)
	if err != nil {
		t.Fatalf("virsh %s through the guard: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// deny runs virsh as the user through the guard and wants libvirt's
// access denied naming rule (and where, if not ""); it returns the
// expected audit fields.
func (w *xmlWorld) deny(t *testing.T, rule, where string, args ...string) string {
	t.Helper()
	out, err := w.virsh(&w.user, args...)
	if strings.Contains(strings.Join(args, " "), "disk-file-shadow") {
		t.Logf("virsh %s: %s", strings.Join(args, " "), strings.TrimSpace(out))
	}
	if err == nil || !strings.Contains(out, "access denied") || !strings.Contains(out, "XML content policy") ||
		!strings.Contains(out, "rule "+rule+")") || !strings.Contains(out, where) {
		t.Errorf("virsh %s: want access denied by rule %s at %s, got %v\n%s", strings.Join(args, " "), rule, where, err, out)
	}
	return auditFields(rule, where)
}

// auditFields is how a record writes rule and where.
func auditFields(rule, where string) string {
	rec := audit.Format(audit.Record{Rule: rule, Where: where})
	i, j := strings.Index(rec, "content_rule="), strings.Index(rec, " requester=")
	return rec[i:j]
}

// violationOf is the policy's refusal of a corpus file.
func (w *xmlWorld) violationOf(t *testing.T, k xmlpolicy.Kind, f corpusFile) *xmlpolicy.Violation {
	t.Helper()
	_, err := w.policy.Check(k, f.text)
	var v *xmlpolicy.Violation
	if !errors.As(err, &v) {
		t.Errorf("%s: the policy does not refuse a refused file: %v", f.name, err)
		return nil
	}
	return v
}

// TestGuardXMLPolicy drives the XML content policy end to end: real virsh
// as a real user and admin, through the guard, to a real libvirtd, with
// polkitd deciding permissions and auditd keeping the records.
func TestGuardXMLPolicy(t *testing.T) {
	w := newXMLWorld(t)
	var wantAudit []string

	t.Run("accepted files are defined, started, destroyed and undefined by the user", func(t *testing.T) {
		for _, f := range w.accepted {
			w.must(t, &w.user, "define", f.path)
			w.must(t, &w.user, "start", f.name)
			if out := w.must(t, &w.user, "domstate", f.name); strings.TrimSpace(out) != "running" {
				t.Errorf("%s: domstate %q after start", f.name, out)
			}
			w.must(t, &w.user, "destroy", f.name)
			w.must(t, &w.user, "undefine", "--nvram", f.name)
		}
	})
	t.Run("refused files are refused with the rule, and nothing is defined", func(t *testing.T) {
		for _, f := range w.refused {
			v := w.violationOf(t, xmlpolicy.Domain, f)
			if v == nil {
				continue
			}
			wantAudit = append(wantAudit, w.deny(t, v.Rule, v.Path, "define", f.path))
			if _, err := w.lv.Virsh(nil, "dominfo", f.name); err == nil {
				t.Errorf("%s: defined despite the refusal", f.name)
				w.lv.Virsh(nil, "undefine", f.name)
			}
		}
	})
	t.Run("admins define a refused file", func(t *testing.T) {
		f := w.refusedFile(t, "disk-file-shadow")
		for _, u := range []*testsys.User{nil, &w.admin} {
			w.must(t, u, "define", f.path)
			w.must(t, u, "undefine", f.name)
		}
	})
	t.Run("admins' documents are read as strictly, and refused alike", func(t *testing.T) {
		n := 0
		for _, f := range w.refused {
			// Refused in the parse, not for its content, nor past a
			// limit the policy sets lower than the guard (libxml2's).
			if v := w.violationOf(t, xmlpolicy.Domain, f); v != nil && v.Rule == "xml" && v.Path == "/" {
				n++
				w.refusedAlike(t, f, v)
			}
		}
		if n < 8 {
			t.Errorf("only %d refused files the parse refuses", n)
		}
	})
	t.Run("calls on a defined VM", func(t *testing.T) {
		f := w.accepted[0]
		w.must(t, &w.user, "define", f.path)
		defer w.lv.Virsh(nil, "undefine", "--nvram", f.name)
		for _, o := range w.other {
			wantAudit = append(wantAudit, w.otherCall(t, f.name, o)...)
		}
		save := filepath.Join(w.dir, "saved")
		wantAudit = append(wantAudit, w.deny(t, "guard.host-path", "to", "save", f.name, save))
		// RESTORE names no domain: the guard refuses it before its content
		// (it cannot identify the object), for users and admins alike.
		if out, err := w.virsh(&w.user, "restore", save); err == nil || !strings.Contains(out, "access denied") {
			t.Errorf("restore: %v\n%s", err, out)
		}
		wantAudit = append(wantAudit, w.deny(t, "guard.host-path", "to", "dump", f.name, save))
	})
	t.Run("identity: another VM's UUID, a volume the user may not use", func(t *testing.T) {
		other, victim := randUUID(), "vah-xml-victim-"+randHex(3)
		w.lv.Define(t, victim, fmt.Sprintf(guardVM, victim, other))
		thief := strings.Replace(string(w.accepted[0].text), "<name>"+w.accepted[0].name+"</name>",
			"<name>vah-xml-uuid-thief</name><uuid>"+other+"</uuid>", 1)
		path := w.write(t, "thief.xml", thief)
		wantAudit = append(wantAudit, w.deny(t, "guard.identity", "/domain/uuid", "define", path))
		vol := strings.Replace(string(w.accepted[0].text), "<name>"+w.accepted[0].name+"</name>", "<name>vah-xml-other-vol</name>", 1)
		vol = strings.Replace(vol, `volume="`+w.accepted[0].name+`.raw"`, `volume="vah-xml-other.raw"`, 1)
		out, err := w.virsh(&w.user, "define", w.write(t, "other-vol.xml", vol))
		if err == nil || !strings.Contains(out, "access denied") || !strings.Contains(out, "storage_vol") {
			t.Errorf("a definition using a volume the user may not use: %v\n%s", err, out)
		}
		f := w.accepted[0]
		w.must(t, &w.user, "define", f.path)
		defer w.lv.Virsh(nil, "undefine", "--nvram", f.name)
		disk := w.write(t, "other-disk.xml", `<disk type="volume" device="disk"><driver name="qemu" type="raw"/>`+
			`<source pool="default" volume="vah-xml-other.raw"/><target dev="vdz" bus="virtio"/></disk>`)
		out, err = w.virsh(&w.user, "attach-device", f.name, disk, "--config")
		if err == nil || !strings.Contains(out, "access denied") || !strings.Contains(out, "storage_vol") {
			t.Errorf("attaching a volume the user may not use: %v\n%s", err, out)
		}
	})
	t.Run("every refusal is audited with its rule and path", func(t *testing.T) {
		if len(wantAudit) < len(w.refused)+len(w.other)+2 {
			t.Fatalf("only %d refusals to look for", len(wantAudit))
		}
		t.Logf("%d refusals, e.g. %s", len(wantAudit), wantAudit[0])
		w.auditd.WaitSearch(t, func(out string) bool {
			for _, want := range wantAudit {
				if !strings.Contains(out, want) {
					return false
				}
			}
			return true
		}, "-m", "USER_AVC", "-ui", fmt.Sprint(w.user.UID), "--success", "no")
	})
}

// refusedAlike wants the guard to refuse f to the admin, whom the
// content policy does not filter, as the policy refuses it to users (v):
// the guard reads the definition it decides on with the policy's reader
// (internal/xmldoc) and answers libvirt's XML error saying the same, at
// the same line, and that the guard refused it where libxml2 would not. libvirtd would have defined it (xmlpolicy's
// TestRefusedCorpusLibvirtAccepts); nothing is.
func (w *xmlWorld) refusedAlike(t *testing.T, f corpusFile, v *xmlpolicy.Violation) {
	t.Helper()
	m := regexp.MustCompile(`line (\d+): (.*)$`).FindStringSubmatch(v.Reason)
	if m == nil {
		t.Errorf("%s: the policy's reason names no line: %v", f.name, v)
		return
	}
	// What libxml2 would refuse too is said in its words; what the
	// guard alone refuses says so.
	by := " (refused by the virt-acl-helper guard)"
	if strings.HasPrefix(v.Reason, "not well-formed") {
		by = ""
	}
	want := fmt.Sprintf("error: (domain_definition):%s: %s%s\n", m[1], m[2], by)
	if out, err := w.virsh(&w.admin, "define", f.path); err == nil || !strings.Contains(out, want) {
		t.Errorf("%s: the admin's define: %v, want %q:\n%s", f.name, err, want, out)
	}
	if _, err := w.lv.Virsh(nil, "dominfo", f.name); err == nil {
		t.Errorf("%s: defined despite the refusal", f.name)
		w.lv.Virsh(nil, "undefine", f.name)
	}
}

// refusedFile returns the refused file named name.
func (w *xmlWorld) refusedFile(t *testing.T, name string) corpusFile {
	t.Helper()
	for _, f := range w.refused {
		if f.name == name {
			return f
		}
	}
	t.Fatalf("no refused corpus file %s", name)
	return corpusFile{}
}

// write writes a file the users can read.
func (w *xmlWorld) write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// otherCall refuses one of the corpus's other documents through the
// call that carries it, on vm; it returns the expected audit fields.
func (w *xmlWorld) otherCall(t *testing.T, vm string, f corpusFile) []string {
	t.Helper()
	kind, args := xmlpolicy.Device, []string{"attach-device", vm, f.path, "--config"}
	switch prefix, _, _ := strings.Cut(f.name, "-"); prefix {
	case "backup":
		kind, args = xmlpolicy.Backup, []string{"backup-begin", vm, f.path}
	case "blockcopy":
		kind, args = xmlpolicy.BlockCopyDest, []string{"blockcopy", vm, "vda", "--xml", f.path, "--transient-job"}
	case "snapshot":
		kind, args = xmlpolicy.Snapshot, []string{"snapshot-create", vm, f.path}
		if strings.Contains(f.name, "redefine") {
			return []string{w.deny(t, "guard.redefine", "(call)", append(args, "--redefine")...)}
		}
	}
	v := w.violationOf(t, kind, f)
	if v == nil {
		return nil
	}
	return []string{w.deny(t, v.Rule, v.Path, args...)}
}
