// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/virt-acl-helper/virt-acl-helper/identity"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// state is where a client's connection is in its life.
type state uint8

const (
	preOpen state = iota // before CONNECT_OPEN
	opening              // CONNECT_OPEN forwarded; the guard finishes it
	open                 // calls are decided and forwarded
)

// pendingCall is a call that has a serial in flight: from the moment the
// guard reads it until its reply (libvirtd's, checked, or the guard's
// own) is written to the client. A reply being checked keeps its serial,
// so a call reusing the serial meanwhile is caught (claim), never
// answered with, or checked against, the other call's reply.
type pendingCall struct {
	prog     uint32
	proc     int32
	onReply  func(m *frame.Message, fds []int) // nil while being decided
	answered bool                              // libvirtd's reply came and is being handled
}

// streamKey names a stream: the program, procedure and serial of the call
// that opened it, which its packets repeat.
type streamKey struct {
	prog   uint32
	proc   int32
	serial uint32
}

// session is one client and its connection to libvirtd.
type session struct {
	srv     *Server
	client  *wire
	up      *wire
	cred    identity.Cred
	subject proc.Process
	log     *slog.Logger
	// unlimited exempts the client from rate_limit (root).
	unlimited bool

	ctx      context.Context
	cancel   context.CancelFunc
	sem      chan struct{} // bounds calls being decided
	checks   chan struct{} // bounds replies being checked (checkReply)
	work     sync.WaitGroup
	stopOnce sync.Once

	mu      sync.Mutex
	state   state
	pending map[uint32]*pendingCall
	streams map[streamKey]bool // allowed streams; true if sparse (STREAM_HOLE allowed)
	closing map[streamKey]bool // streams the client finished or aborted, until libvirtd answers
	lookup  *lookupClient      // set once open
	driver  string             // connect_driver, set once open
	serial  uint32             // the last serial of the guard's own calls on up
	waiting int                // bytes of the calls waiting for a decision slot (startDecision)
	// callbacks counts the event callbacks registered, or being
	// registered, on up (callbacks.go).
	callbacks int

	// openName and openFlags are the client's CONNECT_OPEN, for the
	// guard's own connections (createown.go).
	openName  *string
	openFlags uint32

	events chan *frame.Message // libvirtd's events, to be filtered in order (events.go)
}

func newSession(srv *Server, client, up *wire, cred identity.Cred, subject proc.Process) *session {
	ctx, cancel := context.WithCancel(context.Background())
	return &session{srv: srv, client: client, up: up, cred: cred, subject: subject,
		log: srv.log.With("pid", subject.PID, "uid", subject.UID),
		ctx: ctx, cancel: cancel, sem: make(chan struct{}, srv.opts.MaxPending),
		checks:  make(chan struct{}, srv.opts.MaxPending),
		pending: map[uint32]*pendingCall{}, streams: map[streamKey]bool{}, closing: map[streamKey]bool{}, serial: 0x80000000,
		events: make(chan *frame.Message, eventQueueLen)}
}

// run serves the client until either side disconnects.
func (s *session) run() {
	s.spawn(s.eventLoop)
	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		s.upstreamLoop()
	}()
	s.clientLoop()
	s.shutdown()
	<-upDone
	s.work.Wait()
	s.mu.Lock()
	lc := s.lookup
	s.mu.Unlock()
	if lc != nil {
		lc.close()
	}
}

// shutdown ends the session: both connections close, decisions in
// flight are cancelled.
func (s *session) shutdown() {
	s.stopOnce.Do(func() {
		s.cancel()
		s.client.close()
		s.up.close()
	})
}

// checkReply runs f, a check of a reply of libvirtd's, on its own
// goroutine, at most MaxPending at once: when that many are running, the
// upstream loop waits here, so a client that sends lookups or lists
// without reading the replies cannot make the guard hold unboundedly many
// replies. The checks ask libvirtd on the guard's lookup connection, never
// on the one this loop reads, so the wait always ends.
func (s *session) checkReply(f func()) {
	select {
	case s.checks <- struct{}{}:
	case <-s.ctx.Done():
		return
	}
	s.spawn(func() {
		defer func() { <-s.checks }()
		f()
	})
}

// spawn runs f for the session, tracked for shutdown.
func (s *session) spawn(f func()) {
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		f()
	}()
}

func (s *session) clientLoop() {
	for {
		m, fds, err := s.client.read()
		if err != nil {
			if !errors.Is(err, io.EOF) && s.ctx.Err() == nil {
				s.log.Debug("guard: client connection ends", "err", err)
			}
			return
		}
		if err := s.fromClient(m, fds); err != nil {
			s.warn("client disconnected", err)
			return
		}
	}
}

// fromClient handles one message of the client's. An error ends the
// session.
func (s *session) fromClient(m *frame.Message, fds []int) error {
	h := m.Header
	if err := h.Check(); err != nil {
		closeFDs(fds)
		return err
	}
	if h.Prog == frame.KeepaliveProgram {
		return keepalive(s.client, h, fds)
	}
	switch h.Type {
	case frame.Call, frame.CallWithFDs:
		return s.call(m, fds)
	case frame.Stream, frame.StreamHole:
		return s.clientStream(m)
	}
	closeFDs(fds)
	return fmt.Errorf("unexpected %s message from the client", h.Type)
}

// call handles a call: the procedures the guard answers itself, the
// connection's opening, and the rest decided and forwarded.
func (s *session) call(m *frame.Message, fds []int) error {
	h := m.Header
	if err := s.claim(h); err != nil {
		closeFDs(fds)
		return err
	}
	p, ok := s.srv.table.Lookup(proto.Program(h.Prog), h.Proc)
	var args proto.Message
	var bad error
	switch {
	case !ok:
		bad = fmt.Errorf("unknown procedure %d of program %#x", h.Proc, h.Prog)
	case h.Vers != p.Program().Version():
		bad = fmt.Errorf("%s: protocol version %d, want %d", p.Name(), h.Vers, p.Program().Version())
	case h.Status != frame.OK:
		bad = fmt.Errorf("%s: call with status %s", p.Name(), h.Status)
	case p.Unchecked() && !uncheckedCalls[keyOf(p)]:
		bad = fmt.Errorf("%s is an event, not a call", p.Name())
	case h.Type == frame.CallWithFDs && !callFDProcs[keyOf(p)]:
		bad = fmt.Errorf("%s: file descriptors on a procedure that takes none", p.Name())
	default:
		var err error
		if args, err = p.DecodeArgs(m.Body); err != nil {
			bad = err
		}
	}
	if bad != nil {
		closeFDs(fds)
		return s.refuseMalformed(h, p, bad)
	}
	key := keyOf(p)
	switch {
	case key == remote(proto.RemoteProcAuthList):
		return s.replyOK(h, &proto.RemoteAuthListRet{Types: []proto.RemoteAuthType{proto.RemoteAuthNone}})
	case authProcs[key]:
		// SASL and polkit authentication: the guard knows its clients by
		// their UNIX credentials and offers nothing else (AUTH_LIST).
		s.spawnRefusal(h, p, errors.New("authentication other than by UNIX credentials"), authUnsupported())
		return nil
	case key == remote(proto.RemoteProcConnectSetIdentity):
		closeFDs(fds)
		s.spawnRefusal(h, p, errors.New("clients may not set the identity libvirtd acts for"), nil)
		return nil
	}

	s.mu.Lock()
	st := s.state
	isOpen := key == remote(proto.RemoteProcConnectOpen)
	switch {
	case st == preOpen && isOpen:
		s.state = opening
	case st == preOpen && key == remote(proto.RemoteProcConnectSupportsFeature):
		// Before CONNECT_OPEN libvirtd answers only the features that need
		// no connection (remoteDispatchConnectSupportsFeature): pass,
		// within rate_limit.
		if eb := s.admit(); eb != nil {
			s.mu.Unlock()
			return s.replyError(h, eb)
		}
		s.pending[h.Serial].onReply = s.forwardReply
		s.mu.Unlock()
		return s.up.write(m, nil)
	case st != open:
		s.mu.Unlock()
		closeFDs(fds)
		s.spawnRefusal(h, p, errors.New("call before the connection is open"), notOpen())
		return nil
	case isOpen:
		s.mu.Unlock()
		s.spawnRefusal(h, p, errors.New("connection already open"), alreadyOpen())
		return nil
	}
	s.mu.Unlock()

	if isOpen {
		return s.startDecision(len(m.Body), fds, func() { s.open(m, args.(*proto.RemoteConnectOpenArgs)) })
	}
	return s.startDecision(len(m.Body), fds, func() { s.decideAndForward(m, fds, p, args) })
}

// decideAndForward decides a call and forwards it, or answers the error.
func (s *session) decideAndForward(m *frame.Message, fds []int, p *proto.Procedure, args proto.Message) {
	h := m.Header
	c := s.checker()
	var eb *frame.ErrorBody
	if !uncheckedCalls[keyOf(p)] { // CONNECT_CLOSE is never refused
		eb = s.admit()
	}
	// A registration past the bound is refused before it is decided:
	// one refusal, one record, no question to polkit.
	// A place reserved is given back on every way out but the one that
	// hands the registration to libvirtd, whose reply counts it.
	reserved, handed := false, false
	defer func() {
		if reserved && !handed {
			s.dropCallback()
		}
	}()
	if eb == nil && eventRegisterProcs[keyOf(p)] {
		eb = s.reserveCallback(c, p)
		reserved = eb == nil
	}
	if eb == nil {
		eb = c.checkCall(s.ctx, p, args)
	}
	if eb != nil {
		closeFDs(fds)
		s.replyError(h, eb)
		return
	}
	if c.own != nil {
		closeFDs(fds) // a definition takes none
		s.defineOwn(c, p, h, args)
		return
	}
	onReply := s.forwardReply
	if filtersList(p) {
		onReply = s.filterReply(c, p, args)
	}
	if lookupProcs[keyOf(p)] {
		onReply = func(r *frame.Message, rfds []int) {
			if r.Header.Status != frame.OK {
				s.forwardReply(r, rfds)
				return
			}
			s.checkReply(func() { s.checkLookupReply(c, p, args, r, rfds) })
		}
	}
	var stream streamKey
	if p.Stream() != proto.StreamNone {
		stream = streamKey{h.Prog, h.Proc, h.Serial}
		inner := onReply
		onReply = func(r *frame.Message, rfds []int) {
			if r.Header.Status != frame.OK {
				s.mu.Lock()
				delete(s.streams, stream)
				s.mu.Unlock()
			}
			inner(r, rfds)
		}
	}
	s.mu.Lock()
	pc := s.pending[h.Serial]
	if pc == nil {
		s.mu.Unlock()
		closeFDs(fds)
		return
	}
	// Counted outside the descriptor check: a reply it refuses still
	// registered, or removed, the callback at libvirtd.
	pc.onReply = s.countCallbacks(p, s.checkReplyFDs(p, onReply))
	handed = true
	if p.Stream() != proto.StreamNone {
		flags, _ := flagsOf(args)
		s.streams[stream] = p.SparseFlag() != 0 && flags&p.SparseFlag() != 0
	}
	s.mu.Unlock()
	err := s.up.write(m, fds)
	closeFDs(fds)
	if err != nil {
		s.warn("libvirtd connection failed", err)
		s.shutdown()
	}
}

// checkReplyFDs refuses descriptors on replies to procedures that return
// none.
func (s *session) checkReplyFDs(p *proto.Procedure, next func(*frame.Message, []int)) func(*frame.Message, []int) {
	return func(r *frame.Message, fds []int) {
		if r.Header.Type == frame.ReplyWithFDs && !replyFDProcs[keyOf(p)] {
			closeFDs(fds)
			s.warn("libvirtd sent descriptors on a procedure that returns none", fmt.Errorf("%s", p.Name()))
			s.replyError(r.Header, malformed("unexpected file descriptors in the reply"))
			return
		}
		next(r, fds)
	}
}

// checkLookupReply checks a lookup on the object libvirtd found.
func (s *session) checkLookupReply(c *checker, p *proto.Procedure, args proto.Message, r *frame.Message, fds []int) {
	ret, err := p.DecodeRet(r.Body)
	if err != nil {
		closeFDs(fds)
		s.replyError(r.Header, c.refuse(s.ctx, originOf(p), aclNone, objNone, fmt.Errorf("libvirtd's reply: %w", err)))
		return
	}
	if eb := c.checkReply(s.ctx, p, args, ret); eb != nil {
		closeFDs(fds)
		s.replyError(r.Header, eb)
		return
	}
	s.forwardReply(r, fds)
}

// forwardReply passes libvirtd's reply on to the client.
func (s *session) forwardReply(r *frame.Message, fds []int) {
	s.release(r.Header.Serial)
	err := s.client.write(r, fds)
	closeFDs(fds)
	if err != nil {
		s.shutdown()
	}
}

// checker returns the decision maker for one call, on the engine
// generation current now.
func (s *session) checker() *checker {
	s.mu.Lock()
	lc, driver := s.lookup, s.driver
	s.mu.Unlock()
	var up lookuper = lc
	if lc == nil {
		up = noLookups{}
	}
	return &checker{engine: s.srv.opts.Runtime.Current().Engine, subject: s.subject,
		objects: newObjects(up, driver), allowQEMU: s.srv.opts.AllowQEMUCommands,
		content: s.srv.contentGate(), log: s.log, limit: s.srv.limit}
}

// noLookups fails every lookup: before the connection is open there is
// no lookup connection.
type noLookups struct{}

func (noLookups) call(context.Context, proto.RemoteProcedure, proto.Message, proto.Message) error {
	return errors.New("connection not open")
}

func (s *session) warn(msg string, err error) {
	if ok, held := s.srv.limit.Allow(msg); ok {
		s.log.Warn("guard: "+msg, "err", err, "suppressed", held)
	}
}
