// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/guard"
	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// guardRule is the seed's policy ("users can start, stop and open the
// console of their own VMs, nothing more"; the console serial or
// graphical) for one user and one VM, by
// the details libvirt (and the guard) pass: the VM's UUID and name.
const guardRule = `polkit.addRule(function(action, subject) {
    if (subject.user != %q) {
        return polkit.Result.NOT_HANDLED;
    }
    var ops = ["getattr", "read", "start", "stop", "open-device", "open-graphics"];
    var prefix = "org.libvirt.api.domain.";
    if (action.id.indexOf(prefix) == 0 &&
        ops.indexOf(action.id.substring(prefix.length)) >= 0 &&
        action.lookup("connect_driver") == "QEMU" &&
        action.lookup("domain_uuid") == %q && action.lookup("domain_name") == %q) {
        return polkit.Result.YES;
    }
    return polkit.Result.NOT_HANDLED;
});`

// guardVM is a TCG guest with a serial console, a VNC display and no
// disk: it starts in half a second and runs until destroyed.
const guardVM = `<domain type='qemu'>
  <name>%s</name><uuid>%s</uuid><memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><serial type='pty'/><console type='pty'/>
    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/></devices>
</domain>`

// guardWorld is a real libvirtd (no access control of its own), a real
// polkitd with the seed's rule for user A on vmA, and the guard in front.
type guardWorld struct {
	bus        *testsys.Bus
	lv         *testsys.Libvirtd
	pk         *testsys.Polkitd
	a, b       testsys.User
	vmA, vmB   string
	uuidA      string
	uuidB      string
	uri, roURI string
	sock       string
	audit      *memAuditor
}

func newGuardWorld(t *testing.T) *guardWorld {
	testsys.NeedRoot(t)
	bus := testsys.StartBus(t)
	pk := testsys.StartPolkitd(t, bus)
	w := &guardWorld{bus: bus, pk: pk, a: testsys.AddUser(t, "guarda"), b: testsys.AddUser(t, "guardb"), audit: &memAuditor{}}
	tok := randHex(3)
	w.vmA, w.vmB = "vah-guard-a-"+tok, "vah-guard-b-"+tok
	w.uuidA, w.uuidB = randUUID(), randUUID()
	// libvirtd first: its lock keeps out the tests whose rules would
	// decide for our users (libvirt's example rules deny all they do not name).
	w.lv = testsys.StartLibvirtd(t, testsys.LibvirtdOptions{}) // access_drivers: none
	pk.AddRule(t, "guard-seed", fmt.Sprintf(guardRule, w.a.Name, w.uuidA, w.vmA))
	w.lv.Define(t, w.vmA, fmt.Sprintf(guardVM, w.vmA, w.uuidA))
	w.lv.Define(t, w.vmB, fmt.Sprintf(guardVM, w.vmB, w.uuidB))

	rt := newGuardRuntime(t, bus, w.audit)
	dir := guardDir(t)
	w.sock = filepath.Join(dir, "guard.sock")
	w.uri = serveGuard(t, w.sock, guard.Options{Runtime: rt, Upstream: w.lv.Socket})
	w.roURI = serveGuard(t, filepath.Join(dir, "guard-ro.sock"), guard.Options{Runtime: rt, Upstream: w.lv.Socket, ReadOnly: true})
	return w
}

// virsh runs virsh as u through the guard's read-write socket.
func (w *guardWorld) virsh(u testsys.User, args ...string) (string, error) {
	return testsys.VirshURI(w.uri, &u, args...)
}

// TestGuardEndToEnd runs real virsh as real users against a real libvirtd
// through the guard, under the seed's policy: user A may start, stop, see
// and open the console of vmA only.
func TestGuardEndToEnd(t *testing.T) {
	w := newGuardWorld(t)
	a, b := w.a, w.b

	mustVirsh := func(u testsys.User, args ...string) string {
		t.Helper()
		out, err := w.virsh(u, args...)
		if err != nil {
			t.Fatalf("virsh %s as %s: %v\n%s", strings.Join(args, " "), u.Name, err, out)
		}
		return out
	}
	denied := func(u testsys.User, args ...string) {
		t.Helper()
		out, err := w.virsh(u, args...)
		if err == nil || !strings.Contains(out, "access denied") {
			t.Errorf("virsh %s as %s: want access denied, got %v\n%s", strings.Join(args, " "), u.Name, err, out)
		}
	}

	t.Run("A starts, sees, opens the console of and stops vmA", func(t *testing.T) {
		mustVirsh(a, "start", w.vmA)
		if out := mustVirsh(a, "domstate", w.vmA); strings.TrimSpace(out) != "running" {
			t.Errorf("domstate = %q, want running", out)
		}
		if out := consoleAs(t, w.uri, a, w.vmA); !strings.Contains(out, "Connected to domain") || strings.Contains(out, "error") {
			t.Errorf("console:\n%s", out)
		}
		mustVirsh(a, "destroy", w.vmA)
		if out := mustVirsh(a, "domstate", w.vmA); strings.TrimSpace(out) != "shut off" {
			t.Errorf("domstate after destroy = %q", out)
		}
	})
	t.Run("A cannot touch vmB, define or undefine", func(t *testing.T) {
		denied(a, "start", w.vmB)
		// getattr and read are anonymous in libvirt's own action defaults
		// (anyone may look), so domstate vmB is allowed; read_secure is not.
		if out, err := w.virsh(a, "domstate", w.vmB); err != nil {
			t.Errorf("domstate vmB (anonymous read): %v\n%s", err, out)
		}
		denied(a, "dumpxml", "--security-info", w.vmB)
		denied(a, "undefine", w.vmA)
		xml := filepath.Join(w.lv.Dir, "new.xml")
		if err := os.WriteFile(xml, []byte(fmt.Sprintf(guardVM, "vah-guard-new", randUUID())), 0o644); err != nil {
			t.Fatal(err)
		}
		denied(a, "define", xml)
	})
	t.Run("B gets nothing", func(t *testing.T) {
		denied(b, "start", w.vmA)
		if out, err := w.lv.Virsh(nil, "start", w.vmA); err != nil {
			t.Fatalf("start vmA as root: %v\n%s", err, out)
		}
		defer w.lv.Virsh(nil, "destroy", w.vmA)
		denied(b, "destroy", w.vmA)
		if out := consoleAs(t, w.uri, b, w.vmA); !strings.Contains(out, "access denied") {
			t.Errorf("console as B: want access denied:\n%s", out)
		}
	})
	t.Run("read-only socket", func(t *testing.T) {
		out, err := testsys.VirshURI(w.roURI, &a, "start", w.vmA)
		if err == nil || !strings.Contains(out, "read only") {
			t.Errorf("start on the read-only socket: %v\n%s", err, out)
		}
		if out, err := testsys.VirshURI(w.roURI, &a, "domstate", w.vmA); err != nil || strings.TrimSpace(out) != "shut off" {
			t.Errorf("domstate on the read-only socket: %v\n%s", err, out)
		}
	})
	t.Run("audit origin", func(t *testing.T) {
		if !w.audit.saw(guard.FrontEnd, "REMOTE_PROC_DOMAIN_CREATE", true) || !w.audit.saw(guard.FrontEnd, "REMOTE_PROC_DOMAIN_CREATE", false) {
			t.Errorf("no granted and denied DOMAIN_CREATE audited from the guard: %v", w.audit.ops())
		}
		w.audit.mu.Lock()
		t.Logf("denials:\n%s", strings.Join(w.audit.denials, "\n"))
		w.audit.mu.Unlock()
	})
}

// TestGuardForgedName calls libvirt's protocol by hand, as user A: a
// domain named vmA but carrying vmB's UUID acts on vmB, and the guard
// decides on vmB; the reverse acts on vmA and is allowed. It also opens
// vmA's console and passes stream packets both ways.
func TestGuardForgedName(t *testing.T) {
	w := newGuardWorld(t)
	if out, err := w.lv.Virsh(nil, "start", w.vmA); err != nil {
		t.Fatalf("start vmA: %v\n%s", err, out)
	}
	out := testsys.RunTestAs(t, w.a, "TestGuardRawClient", map[string]string{
		"VAH_GUARD_SOCK": w.sock, "VAH_GUARD_VMA": w.vmA, "VAH_GUARD_VMB": w.vmB,
		"VAH_GUARD_UUIDA": w.uuidA, "VAH_GUARD_UUIDB": w.uuidB,
	})
	for _, want := range []string{
		"create name=vmA uuid=vmB: error 88",
		"set identity: error 88",
		"console vmA: ok",
		"stream finish: ok",
		"destroy name=vmB uuid=vmA: ok",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("raw client output lacks %q:\n%s", want, out)
		}
	}
	for _, vm := range []string{w.vmA, w.vmB} {
		if out, _ := w.lv.Virsh(nil, "domstate", vm); strings.TrimSpace(out) != "shut off" {
			t.Errorf("%s is %q, want shut off (vmB never started, vmA destroyed by UUID)", vm, out)
		}
	}
}

// TestGuardRawClient is TestGuardForgedName's client, run as user A in a
// process of its own (the guard identifies its peer by SO_PEERCRED).
func TestGuardRawClient(t *testing.T) {
	rc := dialChild(t, "VAH_GUARD_SOCK", "TestGuardForgedName")
	if rc == nil {
		return
	}
	defer rc.c.Close()
	c := rc.c
	uri := "qemu:///system"
	report := func(what string, m *frame.Message, err error) {
		switch {
		case err != nil:
			fmt.Printf("%s: failed: %v\n", what, err)
		case m.Header.Status == frame.Error:
			eb, _ := frame.ParseError(m.Body)
			fmt.Printf("%s: error %d (%v)\n", what, eb.Code, eb)
		default:
			fmt.Printf("%s: ok\n", what)
		}
	}
	m, err := rc.call(proto.RemoteProcConnectOpen, &proto.RemoteConnectOpenArgs{Name: &uri})
	report("open", m, err)
	vmA := proto.RemoteNonnullDomain{Name: os.Getenv("VAH_GUARD_VMA"), UUID: envUUID("VAH_GUARD_UUIDA"), ID: -1}
	vmB := proto.RemoteNonnullDomain{Name: os.Getenv("VAH_GUARD_VMB"), UUID: envUUID("VAH_GUARD_UUIDB"), ID: -1}
	forged := vmB
	forged.Name = vmA.Name
	m, err = rc.call(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: forged})
	report("create name=vmA uuid=vmB", m, err)
	m, err = rc.call(proto.RemoteProcConnectSetIdentity, &proto.RemoteConnectSetIdentityArgs{})
	report("set identity", m, err)
	defer func() {
		reverse := vmA
		reverse.Name = vmB.Name
		m, err := rc.call(proto.RemoteProcDomainDestroy, &proto.RemoteDomainDestroyArgs{Dom: reverse})
		report("destroy name=vmB uuid=vmA", m, err)
	}()

	m, err = rc.call(proto.RemoteProcDomainOpenConsole, &proto.RemoteDomainOpenConsoleArgs{Dom: vmA, Flags: 1 /* VIR_DOMAIN_CONSOLE_FORCE */})
	report("console vmA", m, err)
	if err != nil || m.Header.Status != frame.OK {
		return
	}
	// A line to the guest's serial port, then the end of the stream:
	// libvirtd acknowledges the finish with a STREAM packet of status OK.
	h := frame.Header{Prog: uint32(proto.Remote), Vers: 1, Proc: int32(proto.RemoteProcDomainOpenConsole),
		Type: frame.Stream, Serial: m.Header.Serial, Status: frame.Continue}
	frame.Write(c, &frame.Message{Header: h, Body: []byte("\r\n")})
	h.Status = frame.OK
	frame.Write(c, &frame.Message{Header: h})
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		r, err := frame.Read(c)
		if err != nil {
			fmt.Printf("stream finish: failed: %v\n", err)
			return
		}
		if r.Header.Type == frame.Stream && r.Header.Serial == h.Serial && r.Header.Status != frame.Continue {
			report("stream finish", r, nil)
			return
		}
	}
}

// rawClient makes calls on libvirt's protocol by hand, one at a time.
type rawClient struct {
	c      net.Conn
	serial uint32
}

func (rc *rawClient) call(num proto.RemoteProcedure, args proto.Message) (*frame.Message, error) {
	return rc.callProg(proto.Remote, int32(num), args)
}

// callProg calls procedure num of program prog.
func (rc *rawClient) callProg(prog proto.Program, num int32, args proto.Message) (*frame.Message, error) {
	body, err := proto.Marshal(args)
	if err != nil {
		return nil, err
	}
	rc.serial++
	h := frame.Header{Prog: uint32(prog), Vers: 1, Proc: num, Type: frame.Call, Serial: rc.serial}
	if err := frame.Write(rc.c, &frame.Message{Header: h, Body: body}); err != nil {
		return nil, err
	}
	rc.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		m, err := frame.Read(rc.c)
		if err != nil {
			return nil, err
		}
		if (m.Header.Type == frame.Reply || m.Header.Type == frame.ReplyWithFDs) && m.Header.Serial == rc.serial {
			return m, nil
		}
	}
}

// consoleAs runs "virsh console" as u under a pseudo-terminal (script),
// sends the escape character after two seconds and returns the output.
func consoleAs(t *testing.T, uri string, u testsys.User, vm string) string {
	t.Helper()
	testsys.NeedCommand(t, "script")
	cmd := exec.Command("script", "-qec", fmt.Sprintf("virsh -c '%s' console --force %s", uri, vm), "/dev/null")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent", "LC_ALL=C", "TERM=dumb"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID}}
	pr, pw := io.Pipe()
	cmd.Stdin = pr
	go func() {
		time.Sleep(2 * time.Second)
		pw.Write([]byte{0x1d}) // ^]
		time.Sleep(time.Second)
		pw.Close()
	}()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s\nerror: %v", out, err)
	}
	return string(out)
}

// memAuditor keeps the origins of the decisions it is given.
type memAuditor struct {
	mu      sync.Mutex
	got     []string
	denials []string
}

// testLog writes a log to the test's output.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func (m *memAuditor) Audit(_ context.Context, r access.Request, d access.Decision) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, fmt.Sprintf("%s/%s/%v", r.Origin.FrontEnd, r.Origin.Operation, d.Allowed))
	if !d.Allowed {
		m.denials = append(m.denials, fmt.Sprintf("%s %s %s: %s %v", r.Origin.Operation, r.Permission, r.Object.Name(), d.Reason, d.Err))
	}
	return nil
}

func (m *memAuditor) saw(frontEnd, op string, allowed bool) bool {
	return m.count(frontEnd, op, allowed) > 0
}

// count counts the records of op's decisions with the outcome allowed.
func (m *memAuditor) count(frontEnd, op string, allowed bool) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	want := fmt.Sprintf("%s/%s/%v", frontEnd, op, allowed)
	n := 0
	for _, g := range m.got {
		if g == want {
			n++
		}
	}
	return n
}

func (m *memAuditor) ops() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.got...)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randUUID() string {
	h := randHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}
