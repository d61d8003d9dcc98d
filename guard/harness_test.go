// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// The fake host's domains.
var (
	uuidA = [16]byte{0xa0, 15: 0x0a}
	uuidB = [16]byte{0xb0, 15: 0x0b}
	vmA   = proto.RemoteNonnullDomain{Name: "vmA", UUID: uuidA, ID: -1}
	vmB   = proto.RemoteNonnullDomain{Name: "vmB", UUID: uuidB, ID: -1}
)

// policy is an access driver allowing the listed permissions on the
// domains named by UUID, and connect:getattr and connect:read. It records
// what it was asked; block, when set, holds every decision until closed.
type policy struct {
	allow map[string]bool // "domain:start <uuid>", or "storage_vol:getattr vol_name=v2"
	deny  map[string]bool // permissions denied whatever the object ("connect:getattr")
	block chan struct{}

	mu    sync.Mutex
	asked []access.Request
	fail  bool // every decision fails (a driver error)
}

func (p *policy) Name() string { return "fake" }

func (p *policy) Check(ctx context.Context, r access.Request) (bool, error) {
	p.mu.Lock()
	p.asked = append(p.asked, r)
	fail := p.fail
	p.mu.Unlock()
	if fail {
		return false, errors.New("fake driver failure")
	}
	if p.block != nil {
		select {
		case <-p.block:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	if p.deny[r.Permission.String()] {
		return false, nil
	}
	switch r.Permission.String() {
	case "connect:getattr", "connect:read", "connect:search_domains":
		return true, nil
	}
	if p.allow[r.Permission.String()+" "+r.Object.UUID()] {
		return true, nil
	}
	for _, d := range r.Object.Details() {
		if p.allow[r.Permission.String()+" "+d.Key+"="+d.Value] {
			return true, nil
		}
	}
	return false, nil
}

func (p *policy) requests() []access.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]access.Request(nil), p.asked...)
}

// fakeLibvirtd answers the calls the tests make, on a socket, and
// records the calls it was sent, per connection.
type fakeLibvirtd struct {
	path  string
	table *proto.Table

	mu        sync.Mutex
	authTypes []proto.RemoteAuthType // AUTH_LIST's answer (nil: AUTH_NONE)
	conns     [][]*frame.Message     // the calls and stream packets of each connection, in order, but AUTH_LIST
	authed    []bool                 // whether each connection began with AUTH_LIST
}

func startFakeLibvirtd(t *testing.T) *fakeLibvirtd {
	t.Helper()
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLibvirtd{path: filepath.Join(t.TempDir(), "libvirt-sock"), table: table}
	l, err := net.Listen("unix", f.path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var conns []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			f.mu.Lock()
			idx := len(f.conns)
			f.conns = append(f.conns, nil)
			f.authed = append(f.authed, false)
			f.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.serve(c, idx)
			}()
		}
	}()
	return f
}

func (f *fakeLibvirtd) serve(c net.Conn, idx int) {
	w := newWire(c.(*net.UnixConn))
	for {
		m, fds, err := w.read()
		closeFDs(fds)
		if err != nil {
			return
		}
		f.mu.Lock()
		if authList(m) {
			f.authed[idx] = len(f.conns[idx]) == 0
		} else {
			f.conns[idx] = append(f.conns[idx], m)
		}
		f.mu.Unlock()
		if m.Header.Prog == frame.KeepaliveProgram {
			continue
		}
		if m.Header.Type == frame.Stream {
			switch {
			case m.Header.Status == frame.OK: // finish: acknowledge
				w.write(&frame.Message{Header: m.Header}, nil)
			case m.Header.Status == frame.Error: // an abort that fails: an error reply
				e, _ := frame.ErrorReply(m.Header, libvirtError(1, 10, "abort failed"))
				w.write(e, nil)
			case string(m.Body) == "fail": // the stream fails: libvirtd drops it
				e, _ := frame.ErrorReply(m.Header, libvirtError(1, 10, "stream failed"))
				e.Header.Type = frame.Stream
				w.write(e, nil)
			}
			continue
		}
		reply, extra := f.answer(m)
		w.write(reply, nil)
		if extra != nil {
			w.write(extra, nil)
		}
	}
}

// The fake refuses a registration for an event ID from unknownEventID
// on, and a deregistration of a callback ID from unknownCallbackID on,
// as libvirtd refuses them (VIR_FROM_REMOTE).
const unknownEventID, unknownCallbackID = 100, 100

// answer builds the reply to a call (and a message to send after it).
func (f *fakeLibvirtd) answer(m *frame.Message) (*frame.Message, *frame.Message) {
	h := m.Header
	h.Type, h.Status = frame.Reply, frame.OK
	ok := func(ret proto.Message) *frame.Message {
		body, err := proto.Marshal(ret)
		if err != nil {
			panic(err)
		}
		return &frame.Message{Header: h, Body: body}
	}
	noDomain := func() *frame.Message {
		r, _ := frame.ErrorReply(m.Header, libvirtError(42, 10, "Domain not found"))
		return r
	}
	p, found := f.table.Lookup(proto.Program(m.Header.Prog), m.Header.Proc)
	if !found {
		r, _ := frame.ErrorReply(m.Header, malformed("unknown"))
		return r, nil
	}
	args, err := p.DecodeArgs(m.Body)
	if err != nil {
		r, _ := frame.ErrorReply(m.Header, malformed(err.Error()))
		return r, nil
	}
	if authList(m) {
		f.mu.Lock()
		types := f.authTypes
		f.mu.Unlock()
		if types == nil {
			types = []proto.RemoteAuthType{proto.RemoteAuthNone}
		}
		return ok(&proto.RemoteAuthListRet{Types: types}), nil
	}
	byUUID := map[[16]byte]proto.RemoteNonnullDomain{uuidA: vmA, uuidB: vmB}
	byName := map[string]proto.RemoteNonnullDomain{"vmA": vmA, "vmB": vmB}
	switch a := args.(type) {
	case *proto.RemoteDomainLookupByUUIDArgs:
		d, ok2 := byUUID[a.UUID]
		if !ok2 {
			return noDomain(), nil
		}
		return ok(&proto.RemoteDomainLookupByUUIDRet{Dom: d}), nil
	case *proto.RemoteDomainLookupByNameArgs:
		d, ok2 := byName[a.Name]
		if !ok2 {
			return noDomain(), nil
		}
		return ok(&proto.RemoteDomainLookupByNameRet{Dom: d}), nil
	case *proto.RemoteConnectDomainEventCallbackRegisterAnyArgs:
		if a.EventID >= unknownEventID {
			r, _ := frame.ErrorReply(m.Header, libvirtError(errInternal, 7, fmt.Sprintf("unsupported event ID %d", a.EventID)))
			return r, nil
		}
	case *proto.RemoteConnectDomainEventCallbackDeregisterAnyArgs:
		if a.CallbackID >= unknownCallbackID {
			r, _ := frame.ErrorReply(m.Header, libvirtError(errInternal, 7, fmt.Sprintf("domain event callback %d not registered", a.CallbackID)))
			return r, nil
		}
	case *proto.RemoteDomainOpenConsoleArgs:
		data := m.Header
		data.Type, data.Status = frame.Stream, frame.Continue
		return ok(&proto.Void{}), &frame.Message{Header: data, Body: []byte("login: ")}
	}
	if ret, event := listAnswer(m.Header, args); ret != nil {
		return ok(ret), event
	}
	if proto.RemoteProcedure(m.Header.Proc) == proto.RemoteProcConnectGetType && m.Header.Prog == uint32(proto.Remote) {
		return ok(&proto.RemoteConnectGetTypeRet{Type: "QEMU"}), nil
	}
	return ok(p.NewRet()), nil
}

func authList(m *frame.Message) bool {
	return m.Header.Prog == uint32(proto.Remote) && m.Header.Proc == int32(proto.RemoteProcAuthList)
}

// calls returns the messages connection idx received.
func (f *fakeLibvirtd) calls(idx int) []*frame.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	if idx >= len(f.conns) {
		return nil
	}
	return append([]*frame.Message(nil), f.conns[idx]...)
}

// procs lists the procedures connection idx was called with.
func (f *fakeLibvirtd) procs(idx int) []int32 {
	var ps []int32
	for _, m := range f.calls(idx) {
		if m.Header.Type == frame.Call {
			ps = append(ps, m.Header.Proc)
		}
	}
	return ps
}

// world is a guard in front of a fake libvirtd, deciding with policy.
type world struct {
	up     *fakeLibvirtd
	policy *policy
	audit  *auditLog
	sock   string
}

type auditLog struct {
	mu   sync.Mutex
	recs []string
}

func (a *auditLog) Audit(_ context.Context, r access.Request, d access.Decision) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec := fmt.Sprintf("%s %s %s %v %s", r.Origin.FrontEnd, r.Origin.Operation, r.Permission, d.Allowed, d.Reason)
	if r.Origin.Rule != "" {
		rec += fmt.Sprintf(" rule=%s at=%s", r.Origin.Rule, r.Origin.Where)
	}
	a.recs = append(a.recs, rec)
	return nil
}

// WriteRecord keeps a record that is no decision (a list's), with its
// details.
func (a *auditLog) WriteRecord(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, fmt.Sprintf("%s %s %s %v %s %v", r.FrontEnd, r.Operation, r.Permission, r.Granted, r.Reason, r.Details))
	return nil
}

func (a *auditLog) records() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.recs...)
}

func newWorld(t *testing.T, opts Options, allow ...string) *world {
	t.Helper()
	return newWorldGen(t, opts, nil, allow...)
}

// newWorldGen is newWorld with gen, when not nil, completing the engine
// generation (its limits) before the guard starts.
func newWorldGen(t *testing.T, opts Options, gen func(*engine.Generation), allow ...string) *world {
	t.Helper()
	w := &world{up: startFakeLibvirtd(t), policy: &policy{allow: map[string]bool{}}, audit: &auditLog{}}
	for _, a := range allow {
		w.policy.allow[a] = true
	}
	e, err := access.New(access.Options{Drivers: []access.Driver{w.policy}, Auditor: w.audit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	g := &engine.Generation{Engine: e}
	if gen != nil {
		gen(g)
	}
	opts.Runtime = engine.New(g, engine.Options{})
	opts.Upstream = w.up.path
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	w.sock = filepath.Join(t.TempDir(), "guard.sock")
	l, err := net.Listen("unix", w.sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		l.Close()
		srv.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return w
}

// client is a raw libvirt RPC client of the guard's.
type client struct {
	t      *testing.T
	c      net.Conn
	serial uint32
}

func (w *world) dial(t *testing.T) *client {
	t.Helper()
	c, err := net.Dial("unix", w.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c}
}

// send sends a call of prog/proc with the given body and returns its serial.
func (c *client) send(prog proto.Program, proc int32, body []byte) uint32 {
	c.t.Helper()
	c.serial++
	h := frame.Header{Prog: uint32(prog), Vers: 1, Proc: proc, Type: frame.Call, Serial: c.serial}
	if err := frame.Write(c.c, &frame.Message{Header: h, Body: body}); err != nil {
		c.t.Fatal(err)
	}
	return c.serial
}

func (c *client) sendArgs(num proto.RemoteProcedure, args proto.Message) uint32 {
	c.t.Helper()
	body, err := proto.Marshal(args)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.send(proto.Remote, int32(num), body)
}

// recv reads the next message.
func (c *client) recv() *frame.Message {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, err := frame.Read(c.c)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

// reply reads messages until the reply with serial comes.
func (c *client) reply(serial uint32) *frame.Message {
	c.t.Helper()
	for {
		if m := c.recv(); m.Header.Type == frame.Reply && m.Header.Serial == serial {
			return m
		}
	}
}

// call makes a call and returns its reply's error code (0 for success).
func (c *client) call(num proto.RemoteProcedure, args proto.Message) int32 {
	c.t.Helper()
	return errCode(c.t, c.reply(c.sendArgs(num, args)))
}

func errCode(t *testing.T, m *frame.Message) int32 {
	t.Helper()
	if m.Header.Status == frame.OK {
		return 0
	}
	eb, err := frame.ParseError(m.Body)
	if err != nil {
		t.Fatalf("error reply: %v", err)
	}
	return eb.Code
}

func (c *client) open() {
	c.t.Helper()
	uri := "qemu:///system"
	if code := c.call(proto.RemoteProcConnectOpen, &proto.RemoteConnectOpenArgs{Name: &uri}); code != 0 {
		c.t.Fatalf("open: error %d", code)
	}
}
