// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

const aStart = "domain:start a0000000-0000-0000-0000-00000000000a"

func TestOpenPassesIdentity(t *testing.T) {
	w := newWorld(t, Options{})
	c := w.dial(t)
	c.open()
	ps := w.up.procs(0)
	want := []int32{int32(proto.RemoteProcConnectOpen), int32(proto.RemoteProcConnectSetIdentity)}
	if len(ps) < 2 || !slices.Equal(ps[:2], want) {
		t.Fatalf("libvirtd saw %v, want CONNECT_OPEN then CONNECT_SET_IDENTITY first", ps)
	}
	var args proto.RemoteConnectSetIdentityArgs
	if err := proto.Unmarshal(w.up.calls(0)[1].Body, &args); err != nil {
		t.Fatal(err)
	}
	got := map[string]proto.RemoteTypedParamValue{}
	for _, p := range args.Params {
		got[p.Field] = p.Value
	}
	if v := got[identUnixUserID]; v.Type != proto.VirTypedParamUllong || v.Ul != uint64(os.Geteuid()) {
		t.Errorf("unix-user-id %+v, want %d", v, os.Geteuid())
	}
	if v := got[identProcessID]; v.Type != proto.VirTypedParamLlong || v.L != int64(os.Getpid()) {
		t.Errorf("process-id %+v, want %d", v, os.Getpid())
	}
	if v := got[identProcessTime]; v.Type != proto.VirTypedParamUllong || v.Ul == 0 {
		t.Errorf("process-time %+v", v)
	}
	// The lookup connection is read-only.
	var open proto.RemoteConnectOpenArgs
	if err := proto.Unmarshal(w.up.calls(1)[0].Body, &open); err != nil || open.Flags&connectRO == 0 {
		t.Errorf("lookup connection opened with %+v (%v), want VIR_CONNECT_RO", open, err)
	}
}

func TestReadOnlySocketOpensReadOnly(t *testing.T) {
	w := newWorld(t, Options{ReadOnly: true})
	w.dial(t).open()
	var open proto.RemoteConnectOpenArgs
	if err := proto.Unmarshal(w.up.calls(0)[0].Body, &open); err != nil || open.Flags&connectRO == 0 {
		t.Errorf("client's connection opened with %+v (%v), want VIR_CONNECT_RO", open, err)
	}
}

func TestBeforeOpen(t *testing.T) {
	w := newWorld(t, Options{})
	c := w.dial(t)
	m := c.reply(c.send(proto.Remote, int32(proto.RemoteProcAuthList), nil))
	var auth proto.RemoteAuthListRet
	if err := proto.Unmarshal(m.Body, &auth); err != nil || !slices.Equal(auth.Types, []proto.RemoteAuthType{proto.RemoteAuthNone}) {
		t.Errorf("AUTH_LIST = %+v, %v; want [AUTH_NONE]", auth, err)
	}
	if code := c.call(proto.RemoteProcAuthPolkit, &proto.Void{}); code != errAuthFailed {
		t.Errorf("AUTH_POLKIT: error %d, want %d", code, errAuthFailed)
	}
	if code := c.call(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: vmA}); code != errInternal {
		t.Errorf("DOMAIN_CREATE before open: error %d, want %d (not open)", code, errInternal)
	}
	if code := c.call(proto.RemoteProcConnectSetIdentity, &proto.RemoteConnectSetIdentityArgs{}); code != frame.ErrAccessDenied {
		t.Errorf("client's CONNECT_SET_IDENTITY: error %d, want access denied", code)
	}
	if slices.Contains(w.up.procs(0), int32(proto.RemoteProcDomainCreate)) || slices.Contains(w.up.procs(0), int32(proto.RemoteProcConnectSetIdentity)) {
		t.Errorf("libvirtd was sent %v", w.up.procs(0))
	}
}

func TestForgedNameDecidedOnUUID(t *testing.T) {
	w := newWorld(t, Options{}, aStart)
	c := w.dial(t)
	c.open()
	forged := vmB
	forged.Name = "vmA" // vmA's name, vmB's UUID: libvirtd would start vmB
	if code := c.call(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: forged}); code != frame.ErrAccessDenied {
		t.Errorf("forged create: error %d, want access denied", code)
	}
	reverse := vmA
	reverse.Name = "vmB"
	if code := c.call(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: reverse}); code != 0 {
		t.Errorf("create of vmA under vmB's name: error %d, want success", code)
	}
	creates := 0
	for _, m := range w.up.calls(0) {
		if m.Header.Proc == int32(proto.RemoteProcDomainCreate) {
			creates++
			var a proto.RemoteDomainCreateArgs
			proto.Unmarshal(m.Body, &a)
			if a.Dom.UUID != uuidA {
				t.Errorf("libvirtd was asked to start %x", a.Dom.UUID)
			}
		}
	}
	if creates != 1 {
		t.Errorf("libvirtd saw %d creates, want 1", creates)
	}
	// The names the policy saw are libvirtd's, never the client's.
	for _, r := range w.policy.requests() {
		if n := r.Object.Name(); r.Permission.String() == "domain:start" && !(n == "vmA" && r.Object.UUID() == "a0000000-0000-0000-0000-00000000000a" || n == "vmB") {
			t.Errorf("policy asked about %s %s", n, r.Object.UUID())
		}
	}
	// No such domain: libvirtd's own error.
	ghost := proto.RemoteNonnullDomain{Name: "vmA", UUID: [16]byte{1}}
	if code := c.call(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: ghost}); code != 42 {
		t.Errorf("create of an unknown UUID: error %d, want libvirtd's 42", code)
	}
	recs := strings.Join(w.audit.records(), "\n")
	for _, want := range []string{"guard REMOTE_PROC_DOMAIN_CREATE domain:start true granted", "guard REMOTE_PROC_DOMAIN_CREATE domain:start false policy"} {
		if !strings.Contains(recs, want) {
			t.Errorf("audit lacks %q:\n%s", want, recs)
		}
	}
}

func TestLookupCheckedOnReply(t *testing.T) {
	w := newWorld(t, Options{}, "domain:getattr a0000000-0000-0000-0000-00000000000a")
	c := w.dial(t)
	c.open()
	if code := c.call(proto.RemoteProcDomainLookupByName, &proto.RemoteDomainLookupByNameArgs{Name: "vmA"}); code != 0 {
		t.Errorf("lookup vmA: error %d", code)
	}
	if code := c.call(proto.RemoteProcDomainLookupByName, &proto.RemoteDomainLookupByNameArgs{Name: "vmB"}); code != frame.ErrAccessDenied {
		t.Errorf("lookup vmB: error %d, want access denied", code)
	}
	if code := c.call(proto.RemoteProcDomainLookupByName, &proto.RemoteDomainLookupByNameArgs{Name: "nope"}); code != 42 {
		t.Errorf("lookup of no domain: error %d, want libvirtd's 42", code)
	}
}

func TestMalformedCallsRefused(t *testing.T) {
	w := newWorld(t, Options{}, aStart)
	c := w.dial(t)
	c.open()
	body, _ := proto.Marshal(&proto.RemoteDomainCreateArgs{Dom: vmA})
	tests := []struct {
		name string
		prog proto.Program
		proc int32
		body []byte
	}{
		{"trailing bytes", proto.Remote, int32(proto.RemoteProcDomainCreate), append(body, 0, 0, 0, 0)},
		{"truncated", proto.Remote, int32(proto.RemoteProcDomainCreate), body[:len(body)-4]},
		{"unknown procedure", proto.Remote, 9999, nil},
		{"unknown program", proto.Program(0x1234), 1, nil},
		{"an event as a call", proto.Remote, int32(proto.RemoteProcDomainEventLifecycle), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := errCode(t, c.reply(c.send(tt.prog, tt.proc, tt.body))); code != errRPC {
				t.Errorf("error %d, want %d", code, errRPC)
			}
		})
	}
	// A NUL inside a name.
	nulName := []byte{0, 0, 0, 5, 'v', 'm', 'A', 0, 'x', 0, 0, 0} // "vmA\0x": libvirtd reads "vmA"
	if code := errCode(t, c.reply(c.send(proto.Remote, int32(proto.RemoteProcDomainLookupByName), nulName))); code != errRPC {
		t.Errorf("NUL in a string: error %d, want %d", code, errRPC)
	}
	for _, m := range w.up.calls(0) {
		if m.Header.Proc == int32(proto.RemoteProcDomainCreate) || m.Header.Proc == 9999 {
			t.Errorf("libvirtd was sent procedure %d", m.Header.Proc)
		}
	}
	refused := 0
	for _, r := range w.audit.records() {
		if strings.HasPrefix(r, "guard REMOTE_PROC_DOMAIN_CREATE ") && strings.HasSuffix(r, " false refused") {
			refused++
		}
	}
	if refused != 2 {
		t.Errorf("%d DOMAIN_CREATE refusals audited, want 2:\n%s", refused, strings.Join(w.audit.records(), "\n"))
	}
}

func TestFDsOnlyWhereTheProtocolUsesThem(t *testing.T) {
	w := newWorld(t, Options{}, aStart)
	c := w.dial(t)
	c.open()
	body, _ := proto.Marshal(&proto.RemoteDomainCreateArgs{Dom: vmA})
	c.serial++
	h := frame.Header{Prog: uint32(proto.Remote), Vers: 1, Proc: int32(proto.RemoteProcDomainCreate), Type: frame.CallWithFDs, Serial: c.serial}
	if err := frame.Write(c.c, &frame.Message{Header: h, Body: body}); err != nil {
		t.Fatal(err)
	}
	if code := errCode(t, c.reply(c.serial)); code != errRPC {
		t.Errorf("CALL_WITH_FDS on DOMAIN_CREATE: error %d, want %d", code, errRPC)
	}
}

func TestQEMUCommandsRefused(t *testing.T) {
	w := newWorld(t, Options{}, "domain:write a0000000-0000-0000-0000-00000000000a")
	c := w.dial(t)
	c.open()
	body, _ := proto.Marshal(&proto.QEMUDomainMonitorCommandArgs{Dom: vmA, Cmd: "info status"})
	if code := errCode(t, c.reply(c.send(proto.QEMU, 1, body))); code != frame.ErrAccessDenied {
		t.Errorf("QEMU monitor command: error %d, want access denied", code)
	}
	w2 := newWorld(t, Options{AllowQEMUCommands: true}, "domain:write a0000000-0000-0000-0000-00000000000a")
	c2 := w2.dial(t)
	c2.open()
	if code := errCode(t, c2.reply(c2.send(proto.QEMU, 1, body))); code != 0 {
		t.Errorf("QEMU monitor command, allowed by option and policy: error %d", code)
	}
}

// TestRefusalWarningNamesTheClientOnce: the warning a refused call logs
// names the client's pid and uid once; they come with the session's
// logger.
func TestRefusalWarningNamesTheClientOnce(t *testing.T) {
	log := &testsys.Buffer{}
	w := newWorld(t, Options{Logger: slog.New(slog.NewTextHandler(log, nil))})
	c := w.dial(t)
	c.open()
	body, _ := proto.Marshal(&proto.QEMUDomainMonitorCommandArgs{Dom: vmA, Cmd: "info status"})
	if code := errCode(t, c.reply(c.send(proto.QEMU, 1, body))); code != frame.ErrAccessDenied {
		t.Fatalf("QEMU monitor command: error %d, want access denied", code)
	}
	var warning string
	for line := range strings.Lines(log.String()) {
		if strings.Contains(line, "guard: call refused") {
			warning = line
			break
		}
	}
	if warning == "" {
		t.Fatalf("no warning of the refused call in:\n%s", log)
	}
	pid := "pid=" + strconv.Itoa(os.Getpid()) + " "
	uid := "uid=" + strconv.Itoa(os.Geteuid()) + " "
	if strings.Count(warning, " pid=") != 1 || strings.Count(warning, " uid=") != 1 ||
		!strings.Contains(warning, pid) || !strings.Contains(warning, uid) {
		t.Errorf("warning %q: want %s and %s, each once", warning, pid, uid)
	}
}

func TestKeepaliveNotBehindDecision(t *testing.T) {
	w := newWorld(t, Options{}, aStart)
	c := w.dial(t)
	c.open()
	w.policy.block = make(chan struct{}) // decisions from now on wait
	serial := c.sendArgs(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: vmA})
	ping := frame.Header{Prog: frame.KeepaliveProgram, Vers: 1, Proc: frame.KeepalivePing, Type: frame.Event}
	if err := frame.Write(c.c, &frame.Message{Header: ping}); err != nil {
		t.Fatal(err)
	}
	m := c.recv()
	if m.Header.Prog != frame.KeepaliveProgram || m.Header.Proc != frame.KeepalivePong {
		t.Fatalf("got %+v before the PONG", m.Header)
	}
	close(w.policy.block)
	if code := errCode(t, c.reply(serial)); code != 0 {
		t.Errorf("create: error %d", code)
	}
}

func TestConsoleStream(t *testing.T) {
	w := newWorld(t, Options{}, "domain:open_device a0000000-0000-0000-0000-00000000000a")
	c := w.dial(t)
	c.open()
	if code := c.call(proto.RemoteProcDomainOpenConsole, &proto.RemoteDomainOpenConsoleArgs{Dom: vmB}); code != frame.ErrAccessDenied {
		t.Errorf("console of vmB: error %d", code)
	}
	serial := c.sendArgs(proto.RemoteProcDomainOpenConsole, &proto.RemoteDomainOpenConsoleArgs{Dom: vmA})
	if code := errCode(t, c.reply(serial)); code != 0 {
		t.Fatalf("console of vmA: error %d", code)
	}
	if m := c.recv(); m.Header.Type != frame.Stream || string(m.Body) != "login: " {
		t.Errorf("stream data from libvirtd: %+v %q", m.Header, m.Body)
	}
	h := frame.Header{Prog: uint32(proto.Remote), Vers: 1, Proc: int32(proto.RemoteProcDomainOpenConsole), Type: frame.Stream, Serial: serial, Status: frame.Continue}
	frame.Write(c.c, &frame.Message{Header: h, Body: []byte("root\n")})
	// A packet for the denied stream's serial goes nowhere.
	denied := h
	denied.Serial = serial - 1
	frame.Write(c.c, &frame.Message{Header: denied, Body: []byte("x")})
	h.Status = frame.OK
	frame.Write(c.c, &frame.Message{Header: h})
	if m := c.recv(); m.Header.Type != frame.Stream || m.Header.Status != frame.OK || m.Header.Serial != serial {
		t.Errorf("finish acknowledgement: %+v", m.Header)
	}
	var sent []string
	for _, m := range w.up.calls(0) {
		if m.Header.Type == frame.Stream {
			sent = append(sent, string(m.Body))
		}
	}
	if !slices.Equal(sent, []string{"root\n", ""}) {
		t.Errorf("libvirtd got stream packets %q", sent)
	}
}

// TestClientGoneMidDecision: a client that leaves while its call is being
// decided leaves nothing behind.
func TestClientGoneMidDecision(t *testing.T) {
	w := newWorld(t, Options{}, aStart)
	c := w.dial(t)
	c.open()
	w.policy.block = make(chan struct{})
	c.sendArgs(proto.RemoteProcDomainCreate, &proto.RemoteDomainCreateArgs{Dom: vmA})
	time.Sleep(50 * time.Millisecond)
	c.c.Close()
	time.Sleep(50 * time.Millisecond)
	close(w.policy.block)
}

// TestUpstreamAuthList checks that both of a client's connections to
// libvirtd begin with AUTH_LIST (which lets root past auth_unix_rw =
// "polkit"), and that a libvirtd wanting authentication the guard does
// not do gets the client refused.
func TestUpstreamAuthList(t *testing.T) {
	tests := []struct {
		name   string
		types  []proto.RemoteAuthType
		wantOK bool
	}{
		{"none", []proto.RemoteAuthType{proto.RemoteAuthNone}, true},
		{"empty list", []proto.RemoteAuthType{}, true},
		{"polkit only", []proto.RemoteAuthType{proto.RemoteAuthPolkit}, false},
		{"sasl only", []proto.RemoteAuthType{proto.RemoteAuthSasl}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, Options{})
			w.up.mu.Lock()
			w.up.authTypes = tt.types
			w.up.mu.Unlock()
			c := w.dial(t)
			// The guard may have hung up already: a failed write is read
			// as a closed connection below.
			h := frame.Header{Prog: uint32(proto.Remote), Vers: 1, Proc: int32(proto.RemoteProcConnectOpen), Type: frame.Call, Serial: 1}
			uri := "qemu:///system"
			body, _ := proto.Marshal(&proto.RemoteConnectOpenArgs{Name: &uri})
			frame.Write(c.c, &frame.Message{Header: h, Body: body})
			c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
			m, err := frame.Read(c.c)
			if !tt.wantOK {
				if err == nil {
					t.Errorf("libvirtd wants %v: the client got %+v, want its connection closed", tt.types, m.Header)
				}
				return
			}
			if err != nil || m.Header.Status != frame.OK {
				t.Fatalf("open: %v %+v", err, m)
			}
			w.up.mu.Lock()
			defer w.up.mu.Unlock()
			if len(w.up.authed) != 2 || !w.up.authed[0] || !w.up.authed[1] {
				t.Errorf("connections began with AUTH_LIST: %v, want both", w.up.authed)
			}
		})
	}
}
