// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/identity"
	"github.com/virt-acl-helper/virt-acl-helper/internal/ratelimit"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
	"github.com/virt-acl-helper/virt-acl-helper/roles"
)

// DefaultUpstream is libvirtd's read-write socket.
const DefaultUpstream = "/run/libvirt/libvirt-sock"

// Options configure a Server.
type Options struct {
	// Runtime holds the engine; each call is decided by its current
	// generation.
	Runtime *engine.Runtime
	// Upstream is libvirtd's socket (default DefaultUpstream). The guard
	// connects to it as itself: run it as root.
	Upstream string
	// ReadOnly opens every client's connection with VIR_CONNECT_RO, so
	// libvirtd's own read-only restrictions apply on top of the policy.
	ReadOnly bool
	// AllowQEMUCommands lets QEMU monitor and agent commands be decided
	// by their @acl rules (domain:write) like any call. By default they
	// are refused: they are root-equivalent.
	AllowQEMUCommands bool
	// Content is the XML content policy applied to callers who are not
	// admins (xmlgate.go). nil applies none: whoever may define a VM is
	// then root on the host, as in libvirt's own model. Run always sets
	// one unless the configuration says xml_policy = "".
	Content *ContentPolicy
	// Owners, with a content policy in force, lets users with a roles
	// create grant define domains of their own and records them as
	// their owners (createown.go). nil: nobody creates their own. Without
	// a content policy it does nothing: whoever defines a domain's XML
	// unchecked is root on the host, which no create grant should give.
	Owners *roles.Owners
	// Resolver reads the client's process (zero value: /proc).
	Resolver identity.Resolver
	// MaxPending bounds the calls of one client being decided at a time
	// (default 64); past it the guard stops reading that client.
	MaxPending int
	// Slots limits the connections of users other than root (per uid,
	// max_clients_per_user, and all together, max_clients less
	// max_clients_reserved); nil: no limit. Servers on several sockets
	// may share one.
	Slots *limit.Conns
	// Conns, if set, is told of every connection accepted (+1) and ended
	// (-1), refused ones included: the guard's idle exit counts them.
	Conns func(delta int)
	// OpenTimeout bounds the guard's own work when a client opens its
	// connection (default 30 s).
	OpenTimeout time.Duration
	Logger      *slog.Logger

	// unlimited reports whether a uid is exempt from the limits (nil:
	// root only). Tests, which may run as root, set it.
	unlimited func(uid uint32) bool
	// rootIsAdmin reports whether a uid is an admin without asking the
	// engine (nil: root only). Tests, which may run as root, set it.
	rootIsAdmin func(uid uint32) bool
}

// Server serves clients on listeners. It is safe for concurrent use.
type Server struct {
	opts  Options
	table *proto.Table
	// xmlCalls and contentPerms are the content policy's table and
	// permissions (xmlcalls_table.go, xmlgate.go).
	xmlCalls     map[procKey]xmlCall
	contentPerms contentPerms
	log          *slog.Logger
	limit        *ratelimit.Limiter
	// turningAway bounds the clients over the limits answered at once.
	turningAway chan struct{}
	// owning serialises create-own definitions of one name or UUID from
	// checking that the domain is still new to recording its owner
	// (defineown.go).
	owning *keyLocks

	mu       sync.Mutex
	sessions map[*session]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// New returns a server.
func New(opts Options) (*Server, error) {
	if opts.Runtime == nil {
		return nil, errors.New("guard: no engine runtime")
	}
	if opts.Upstream == "" {
		opts.Upstream = DefaultUpstream
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 64
	}
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.unlimited == nil {
		opts.unlimited = func(uid uint32) bool { return uid == 0 }
	}
	if opts.rootIsAdmin == nil {
		opts.rootIsAdmin = func(uid uint32) bool { return uid == 0 }
	}
	table, err := proto.NewTable()
	if err != nil {
		return nil, fmt.Errorf("guard: libvirt protocol table: %w", err)
	}
	perms, err := newContentPerms()
	if err != nil {
		return nil, fmt.Errorf("guard: content policy permissions: %w", err)
	}
	return &Server{opts: opts, table: table, xmlCalls: xmlCalls(), contentPerms: perms, log: opts.Logger,
		limit: ratelimit.New(ratelimit.WarnEvery, nil), turningAway: make(chan struct{}, maxTurningAway), owning: newKeyLocks(),
		sessions: map[*session]struct{}{}}, nil
}

// Serve accepts clients on l until l is closed or Close is called.
func (s *Server) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("guard: accept: %w", err)
		}
		uc, ok := c.(*net.UnixConn)
		if !ok {
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(uc)
		}()
	}
}

// serveConn identifies the client, connects to libvirtd for it and runs
// its session.
func (s *Server) serveConn(c *net.UnixConn) {
	if s.opts.Conns != nil {
		s.opts.Conns(1)
		defer s.opts.Conns(-1)
	}
	cred, err := identity.PeerCred(c)
	if err != nil {
		s.warn("client refused", "err", err)
		c.Close()
		return
	}
	subject, err := s.opts.Resolver.Caller(cred)
	if err != nil {
		s.warn("client refused", "pid", cred.PID, "uid", cred.UID, "err", err)
		c.Close()
		return
	}
	unlimited := s.opts.unlimited(cred.UID)
	if !unlimited && s.opts.Slots != nil {
		if !s.opts.Slots.Acquire(cred.UID) {
			s.warn("too many connections; client refused", "pid", cred.PID, "uid", cred.UID)
			s.turnAway(c)
			return
		}
		defer s.opts.Slots.Release(cred.UID)
	}
	var d net.Dialer
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.OpenTimeout)
	up, err := d.DialContext(ctx, "unix", s.opts.Upstream)
	if err == nil {
		if err = authUpstream(ctx, up, s.table); err != nil {
			up.Close()
		}
	}
	cancel()
	if err != nil {
		s.warn("cannot reach libvirtd; client refused", "upstream", s.opts.Upstream, "err", err)
		c.Close()
		return
	}
	ss := newSession(s, newWire(c), newWire(up.(*net.UnixConn)), cred, subject)
	ss.unlimited = unlimited
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ss.shutdown()
		return
	}
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	// client_max_lifetime, as the generation current at connect says.
	if life := s.opts.Runtime.Current().Config.ClientMaxLifetime; life > 0 && !unlimited {
		t := time.AfterFunc(life, ss.shutdown)
		defer t.Stop()
	}
	ss.run()
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
}

// Close disconnects every client and waits for their sessions to end.
// It does not close the listeners.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for ss := range s.sessions {
		ss.shutdown()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) warn(msg string, args ...any) {
	if ok, held := s.limit.Allow(msg); ok {
		s.log.Warn("guard: "+msg, append(args, "suppressed", held)...)
	}
}
