// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/identity"
	"github.com/virt-acl-helper/virt-acl-helper/internal/ratelimit"
)

// MethodFunc handles one call. It returns the reply's parameters (marshalled
// as a JSON object), or an error: an *Error is sent as is (Fatal ones close
// the connection after the reply); any other error is logged and answered
// with the server's protocol error, and the connection closed. The call
// is read in place from the connection's buffer: a handler must not keep
// it (or call its Decode) once it has returned; what Decode gave it is
// its own.
type MethodFunc func(ctx context.Context, call *Call) (any, error)

// Interface is one varlink interface a server implements.
type Interface struct {
	Name        string // e.g. "org.example.ftp"
	Description string // the interface definition, returned by GetInterfaceDescription
	Methods     map[string]MethodFunc
	// Params gives, for the methods it lists, a new pointer to the zero
	// value of the type their handler decodes the parameters into. The
	// server then decodes such a call and its parameters in one pass, and
	// Call.Decode copies them out. Optional.
	Params map[string]func() any
}

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	// Vendor, Product, Version and URL answer GetInfo.
	Vendor, Product, Version, URL string
	// MaxMessageSize bounds one request (default DefaultMaxMessageSize).
	MaxMessageSize int
	// Timeout bounds the wait for each request, whether in its middle or
	// between requests, and the writing of each reply (default 30 s).
	Timeout time.Duration
	// MaxConns caps the connections served at once (default 256). Further
	// connections wait, unaccepted, in the socket's backlog, as libvirt's
	// max_clients does.
	MaxConns int
	// ConnContext, when set, is called once per connection with its peer;
	// the context it returns is passed to every handler for that
	// connection (CloseAfter in it bounds the connection's life). An
	// error closes the connection: an *Error is first sent as the reply
	// to whatever the client asks, other errors leave it unanswered.
	ConnContext func(ctx context.Context, p identity.Cred) (context.Context, error)
	// ConnDone, when set, is called with the context ConnContext returned
	// when that connection ends.
	ConnDone func(ctx context.Context)
	// MaxLarge bounds the messages over LargeMessage bytes being read or
	// handled at once (default 4): each costs several times its size in
	// memory while it is decoded and decided. Others wait, their senders
	// blocked by the socket, up to Timeout.
	MaxLarge int
	// ProtocolError builds the error replied to a message that is not a
	// valid call (oversized, not JSON, no method); reason says why. The
	// connection is closed after it. Nil uses InvalidParameter.
	ProtocolError func(reason string) *Error
	// OnActive, when set, is called with the number of open connections
	// whenever it changes. It must not block.
	OnActive func(active int)
	Logger   *slog.Logger
}

// Server serves varlink interfaces on UNIX stream listeners. It is safe for
// concurrent use; Serve may be called for several listeners.
type Server struct {
	opts   Options
	ifaces map[string]Interface
	typed  map[string]typedMethod // by full method name
	sem    chan struct{}
	large  chan struct{}
	// spare are the buffers of large messages handled, at most MaxLarge,
	// for the next large messages to be read into: a client filtering
	// list after list does not have the collector reclaim megabytes per
	// list, and the memory kept is within what MaxLarge budgets.
	spare chan []byte
	done  chan struct{}
	warn  *ratelimit.Limiter

	closing   atomic.Bool
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu        sync.Mutex
	conns     map[*conn]struct{}
	listeners map[net.Listener]struct{}
}

// NewServer returns a server of the given interfaces and org.varlink.service.
func NewServer(opts Options, ifaces ...Interface) (*Server, error) {
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 256
	}
	if opts.MaxLarge <= 0 {
		opts.MaxLarge = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ProtocolError == nil {
		opts.ProtocolError = func(string) *Error {
			return &Error{Name: ErrInvalidParameter, Parameters: map[string]string{"parameter": "message"}}
		}
	}
	s := &Server{
		opts:      opts,
		ifaces:    map[string]Interface{},
		typed:     map[string]typedMethod{},
		sem:       make(chan struct{}, opts.MaxConns),
		large:     make(chan struct{}, opts.MaxLarge),
		spare:     make(chan []byte, opts.MaxLarge),
		warn:      ratelimit.New(ratelimit.WarnEvery, nil),
		done:      make(chan struct{}),
		conns:     map[*conn]struct{}{},
		listeners: map[net.Listener]struct{}{},
	}
	for _, iface := range append(ifaces, s.serviceInterface()) {
		if _, dup := s.ifaces[iface.Name]; dup {
			return nil, fmt.Errorf("varlink: interface %s registered twice", iface.Name)
		}
		s.ifaces[iface.Name] = iface
		for member, newParams := range iface.Params {
			name := iface.Name + "." + member
			if err := checkMethodName(name); err != nil {
				return nil, fmt.Errorf("varlink: parameter type of %s: %w", member, err)
			}
			s.typed[name] = typedMethod{name: name, newParams: newParams}
		}
	}
	return s, nil
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("varlink: server closed")

// Serve accepts connections on l until Shutdown, serving each in its own
// goroutine. It returns ErrServerClosed after Shutdown, or the listener's
// error.
func (s *Server) Serve(l net.Listener) error {
	if !s.trackListener(l) {
		return ErrServerClosed
	}
	for {
		select {
		case s.sem <- struct{}{}:
		case <-s.done:
			return ErrServerClosed
		}
		nc, err := l.Accept()
		if err != nil {
			<-s.sem
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			if isTemporary(err) {
				s.opts.Logger.Warn("accepting a connection failed; retrying", "err", err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return fmt.Errorf("varlink: accept: %w", err)
		}
		s.wg.Add(1)
		go s.serveConn(nc)
	}
}

// isTemporary reports accept errors that pass, such as running out of file
// descriptors (EMFILE), after which accepting must go on.
func isTemporary(err error) bool {
	var se interface{ Temporary() bool }
	return errors.As(err, &se) && se.Temporary()
}

func (s *Server) trackListener(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.listeners[l] = struct{}{}
	return true
}

// Active returns the number of open connections.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown stops accepting, closes idle connections, lets every call being
// handled finish and be answered, and waits for all connections to close
// or ctx to end; then it closes the rest.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.closeOnce.Do(func() { close(s.done) })
	s.mu.Lock()
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.interruptIfIdle()
	}
	s.mu.Unlock()
	finished := make(chan struct{})
	go func() { s.wg.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-finished
		return ctx.Err()
	}
}

func (s *Server) addConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = struct{}{}
	if s.opts.OnActive != nil {
		s.opts.OnActive(len(s.conns))
	}
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.opts.OnActive != nil {
		s.opts.OnActive(len(s.conns))
	}
}

// conn is one client connection.
type conn struct {
	nc   net.Conn
	r    *Reader
	peer identity.Cred

	mu   sync.Mutex
	idle bool // waiting for a request, so Shutdown may interrupt it

	closeAfter time.Time // zero: no limit
	holdsLarge bool      // holds a slot of Server.large

	// wbuf is the buffer of the last reply written, reused for the next
	// when it is small (maxKeptBuffer).
	wbuf []byte
}

// maxKeptBuffer bounds the buffer a connection keeps between messages.
const maxKeptBuffer = 4 << 10

// interruptIfIdle makes a connection waiting for a request stop waiting.
func (c *conn) interruptIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle {
		c.nc.SetReadDeadline(time.Now())
	}
}

// await marks c idle until the next request, unless the server is closing.
func (c *conn) await(s *Server) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	now := time.Now()
	if !c.closeAfter.IsZero() && !now.Before(c.closeAfter) {
		return false
	}
	c.idle = true
	deadline := now.Add(s.opts.Timeout)
	if !c.closeAfter.IsZero() && c.closeAfter.Before(deadline) {
		deadline = c.closeAfter
	}
	c.nc.SetReadDeadline(deadline)
	return true
}

func (c *conn) busy() {
	c.mu.Lock()
	c.idle = false
	c.mu.Unlock()
}

func (s *Server) serveConn(nc net.Conn) {
	defer s.wg.Done()
	defer func() { <-s.sem }()
	defer nc.Close()
	c := &conn{nc: nc, r: NewReader(nc, s.opts.MaxMessageSize)}
	c.r.onLarge = func() ([]byte, error) { return s.acquireLarge(c) }
	defer s.releaseLarge(c)
	s.addConn(c)
	defer s.removeConn(c)
	ctx, err := s.connContext(c)
	if err != nil {
		s.refuse(c, err)
		return
	}
	if s.opts.ConnDone != nil {
		defer s.opts.ConnDone(ctx)
	}
	c.closeAfter, _ = ctx.Value(closeAfterKey{}).(time.Time)
	for c.await(s) {
		msg, err := c.r.ReadMessage()
		c.busy()
		if err != nil {
			s.readFailed(c, err)
			return
		}
		ok := s.handle(ctx, c, msg)
		s.releaseLarge(c)
		if !ok {
			return
		}
	}
}

// LargeMessage is the size above which a message counts against
// Options.MaxLarge.
const LargeMessage = 64 << 10

// acquireLarge waits, up to the timeout, for a slot for a large message,
// and returns a spare buffer to read it into, if one is left.
func (s *Server) acquireLarge(c *conn) ([]byte, error) {
	if c.holdsLarge {
		return nil, nil
	}
	t := time.NewTimer(s.opts.Timeout)
	defer t.Stop()
	select {
	case s.large <- struct{}{}:
		c.holdsLarge = true
	case <-t.C:
		return nil, fmt.Errorf("%w: no room for another large request within %v", os.ErrDeadlineExceeded, s.opts.Timeout)
	case <-s.done:
		return nil, ErrServerClosed
	}
	select {
	case b := <-s.spare:
		return b, nil
	default:
		return nil, nil
	}
}

// releaseLarge gives up c's slot once its large message is handled, and
// keeps the message's buffer as a spare (if fewer than MaxLarge are):
// the connection itself keeps none while it waits for its next message.
func (s *Server) releaseLarge(c *conn) {
	if c.holdsLarge {
		c.holdsLarge = false
		if b := c.r.Release(); b != nil {
			select {
			case s.spare <- b:
			default:
			}
		}
		<-s.large
	}
}

// refuseWait bounds the wait for a refused client's first call.
const refuseWait = time.Second

type closeAfterKey struct{}

// CloseAfter returns ctx telling the server, when ConnContext returns
// it, to close the connection once t has passed: after the call being
// handled then, or at once if it is waiting for one. Calls coming faster
// than Options.Timeout do not keep such a connection open.
func CloseAfter(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, closeAfterKey{}, t)
}

// refuse answers a connection ConnContext refused, if the error is an
// *Error, and logs why (at most one warning per kind every 10 s).
func (s *Server) refuse(c *conn, err error) {
	var verr *Error
	if errors.As(err, &verr) {
		// Wait a moment for the client's first call, so that its write
		// does not fail on a closed connection: it then reads verr as
		// the reply.
		c.nc.SetReadDeadline(time.Now().Add(min(s.opts.Timeout, refuseWait)))
		c.r.ReadMessage()
		s.send(c, reply{}, verr)
		s.warnf("refusing connection", verr.Name, "err", err)
		return
	}
	s.warnf("refusing connection", "other", "err", err)
}

// warnf logs a warning about a client, at most once per kind every 10 s,
// saying how many were held back: a client can cause them at will, and
// they must not drown the daemon's other warnings in the journal.
func (s *Server) warnf(msg, kind string, args ...any) {
	if ok, held := s.warn.Allow(msg + "/" + kind); ok {
		s.opts.Logger.Warn(msg, append(args, "suppressed", held)...)
	}
}

func (s *Server) connContext(c *conn) (context.Context, error) {
	peer, err := identity.PeerCred(c.nc)
	if err != nil {
		return nil, err
	}
	c.peer = peer
	ctx := withPeer(context.Background(), peer)
	if s.opts.ConnContext == nil {
		return ctx, nil
	}
	ctx, err = s.opts.ConnContext(ctx, peer)
	if err != nil {
		return nil, fmt.Errorf("connection of pid %d uid %d: %w", peer.PID, peer.UID, err)
	}
	return ctx, nil
}

// readFailed answers an oversized message and logs why a connection ends.
func (s *Server) readFailed(c *conn, err error) {
	log := s.opts.Logger.With("pid", c.peer.PID, "uid", c.peer.UID)
	switch {
	case errors.Is(err, ErrTooLarge):
		s.warnf("closing connection: request too large", "too-large", "pid", c.peer.PID, "uid", c.peer.UID, "limit", s.opts.MaxMessageSize)
		s.send(c, reply{}, s.opts.ProtocolError(err.Error()))
	case errors.Is(err, io.EOF):
	case errors.Is(err, os.ErrDeadlineExceeded) && !s.closing.Load():
		log.Info("closing connection: no complete request in time", "timeout", s.opts.Timeout)
	default:
		log.Debug("connection ended", "err", err)
	}
}

// handle answers one message and reports whether the connection stays open.
func (s *Server) handle(ctx context.Context, c *conn, msg []byte) bool {
	call, ok := s.decodeOnce(msg)
	var err error
	if !ok {
		call, err = DecodeCall(msg)
	}
	if err == nil && call.Upgrade {
		err = errors.New("protocol upgrades are not supported")
	}
	if err != nil {
		s.warnf("closing connection: malformed request", "malformed", "pid", c.peer.PID, "uid", c.peer.UID, "err", err)
		s.send(c, reply{}, s.opts.ProtocolError(err.Error()))
		return false
	}
	callCtx, stopWatch := watchHangup(ctx, c.nc)
	out, err := s.dispatch(callCtx, &call)
	stopWatch()
	var verr *Error
	if err != nil && !errors.As(err, &verr) {
		s.opts.Logger.Error("handler failed", "method", call.Method, "pid", c.peer.PID, "err", err)
		verr = s.opts.ProtocolError("internal error")
		err = Fatal(verr)
	}
	if !call.Oneway && !s.send(c, reply{Parameters: out}, verr) {
		return false
	}
	return !isFatal(err)
}

// dispatch finds the method and calls it.
func (s *Server) dispatch(ctx context.Context, call *Call) (any, error) {
	iface, ok := s.ifaces[call.Interface()]
	if !ok {
		return nil, Fatal(&Error{Name: ErrInterfaceNotFound, Parameters: map[string]string{"interface": call.Interface()}})
	}
	m, ok := iface.Methods[call.Member()]
	if !ok {
		return nil, Fatal(&Error{Name: ErrMethodNotFound, Parameters: map[string]string{"method": call.Member()}})
	}
	out, err := m(ctx, call)
	if err == nil && out == nil {
		out = struct{}{}
	}
	return out, err
}

// send writes a reply, or the error verr when it is not nil. It reports
// whether the write succeeded.
func (s *Server) send(c *conn, r reply, verr *Error) bool {
	var b []byte
	ok := false
	if verr == nil && !r.Continues && r.Error == "" {
		b, ok = appendReply(c.wbuf[:0], r.Parameters)
	} else if verr != nil {
		r = reply{Error: verr.Name, Parameters: verr.Parameters}
	}
	if !ok {
		var err error
		if b, err = encode(r); err != nil {
			s.opts.Logger.Error("cannot encode reply", "err", err)
			return false
		}
	} else if cap(b) <= maxKeptBuffer {
		c.wbuf = b
	}
	c.nc.SetWriteDeadline(time.Now().Add(s.opts.Timeout))
	if _, err := c.nc.Write(b); err != nil {
		s.opts.Logger.Info("closing connection: reply not written", "pid", c.peer.PID, "err", err)
		return false
	}
	return true
}
