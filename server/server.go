package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/policy"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// Authorizer decides whether a process may perform one of the helper's own
// polkit actions (policy.ActionCheckOther, ActionFlush, ActionStats). An
// error means no decision, which denies.
type Authorizer interface {
	Authorized(ctx context.Context, subject proc.Process, action string) (bool, error)
}

// Settings are the parts of the configuration the handlers use; they are
// replaced, with the engine, on reload.
type Settings struct {
	MaxObjects int // most objects in one CheckMany
	// PrivilegeTTL is how long polkit's yes to a caller for one of the
	// helper's own actions is reused on the same connection, so a proxy
	// asking on behalf of its clients does not pay a polkit round trip
	// per question. Like a cached allow, a revoked right can take this
	// long to apply. 0 asks polkit every time.
	PrivilegeTTL time.Duration
}

// Options configure a Server.
type Options struct {
	Engine   *access.Engine
	Settings Settings
	// Authorizer answers for callers other than root; nil makes root the
	// only privileged caller.
	Authorizer Authorizer
	// Lookup reads a process; nil means proc.Lookup.
	Lookup func(pid int32) (proc.Process, error)
	// Connections reports the open connections for Stats; may be nil.
	Connections func() int
	Logger      *slog.Logger
}

// Server handles the interface's calls. It is safe for concurrent use.
type Server struct {
	state  atomic.Pointer[state]
	auth   Authorizer
	lookup func(pid int32) (proc.Process, error)
	conns  func() int
	log    *slog.Logger
}

type state struct {
	engine   *access.Engine
	settings Settings
}

// New returns a server deciding with opts.Engine.
func New(opts Options) (*Server, error) {
	if opts.Engine == nil {
		return nil, errors.New("server: no access engine")
	}
	s := &Server{auth: opts.Authorizer, lookup: opts.Lookup, conns: opts.Connections, log: opts.Logger}
	if s.lookup == nil {
		s.lookup = proc.Lookup
	}
	if s.conns == nil {
		s.conns = func() int { return 0 }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.Swap(opts.Engine, opts.Settings)
	return s, nil
}

// Swap makes later calls use engine and settings, as a configuration
// reload does, and returns the engine used before (nil the first time).
// Calls already running finish with the old engine.
func (s *Server) Swap(engine *access.Engine, settings Settings) *access.Engine {
	if settings.MaxObjects <= 0 {
		settings.MaxObjects = 16384
	}
	old := s.state.Swap(&state{engine: engine, settings: settings})
	if old == nil {
		return nil
	}
	return old.engine
}

// Engine returns the engine in use.
func (s *Server) Engine() *access.Engine { return s.state.Load().engine }

// Interface returns the varlink interface to register with a varlink.Server.
func (s *Server) Interface() varlink.Interface {
	return varlink.Interface{
		Name:        accessapi.Interface,
		Description: accessapi.Description,
		Methods: map[string]varlink.MethodFunc{
			"Check":     s.check,
			"CheckMany": s.checkMany,
			"Flush":     s.flush,
			"Stats":     s.stats,
		},
	}
}

type callerKey struct{}

// ConnContext reads the connecting process once, right after accept, and
// remembers it as the connection's caller. Pass it as
// varlink.Options.ConnContext. A peer that cannot be read (gone already,
// in another pid namespace) or whose uid no longer matches its
// credentials is refused.
func (s *Server) ConnContext(ctx context.Context, peer varlink.Peer) (context.Context, error) {
	if peer.PID <= 0 {
		return nil, errors.New("peer pid unknown (another pid namespace?)")
	}
	p, err := s.lookup(peer.PID)
	if err != nil {
		return nil, fmt.Errorf("read peer process: %w", err)
	}
	if p.UID != peer.UID {
		return nil, fmt.Errorf("peer process %d has uid %d, but connected as uid %d", peer.PID, p.UID, peer.UID)
	}
	return context.WithValue(ctx, callerKey{}, &connCaller{proc: p, granted: map[string]time.Time{}}), nil
}

// connCaller is a connection's caller and the privileges polkit granted it.
type connCaller struct {
	proc proc.Process

	mu      sync.Mutex
	granted map[string]time.Time // action -> until when polkit's yes is reused
}

func (c *connCaller) hasGrant(action string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return now.Before(c.granted[action])
}

func (c *connCaller) grant(action string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.granted[action] = until
}

// caller returns the connection's caller; fail closed without one.
func caller(ctx context.Context) (*connCaller, error) {
	c, ok := ctx.Value(callerKey{}).(*connCaller)
	if !ok {
		return nil, errors.New("server: connection without a caller (ConnContext not installed)")
	}
	return c, nil
}

// privileged lets root, and callers polkit authorizes for action, pass.
func (s *Server) privileged(ctx context.Context, c *connCaller, action string) error {
	p := c.proc
	if p.UID == 0 {
		return nil
	}
	if s.auth == nil {
		return notPrivileged(action)
	}
	now := time.Now()
	if c.hasGrant(action, now) {
		return nil
	}
	ok, err := s.auth.Authorized(ctx, p, action)
	if err != nil {
		s.log.Warn("privilege check failed, refusing", "action", action, "pid", p.PID, "uid", p.UID, "err", err)
		return unavailable("polkit")
	}
	if !ok {
		s.log.Info("caller not privileged", "action", action, "pid", p.PID, "uid", p.UID)
		return notPrivileged(action)
	}
	if ttl := s.state.Load().settings.PrivilegeTTL; ttl > 0 {
		c.grant(action, now.Add(ttl))
	}
	return nil
}

// subject returns the process a request is about: the caller, or for a
// privileged caller the process it names, pinned by uid and start time.
func (s *Server) subject(ctx context.Context, c *connCaller, sub *accessapi.Subject) (proc.Process, error) {
	self := c.proc
	if sub == nil {
		return self, nil
	}
	if sub.PID <= 0 || sub.PID > math.MaxInt32 {
		return proc.Process{}, InvalidRequest(fmt.Sprintf("subject: invalid pid %d", sub.PID))
	}
	if int32(sub.PID) != self.PID {
		if err := s.privileged(ctx, c, policy.ActionCheckOther); err != nil {
			return proc.Process{}, err
		}
	}
	p := self
	if int32(sub.PID) != self.PID {
		var err error
		if p, err = s.lookup(int32(sub.PID)); err != nil {
			return proc.Process{}, noSuchProcess(sub.PID)
		}
	}
	if sub.UID != nil && *sub.UID != int64(p.UID) || sub.StartTime != nil && *sub.StartTime != p.StartTime {
		return proc.Process{}, noSuchProcess(sub.PID)
	}
	return p, nil
}

// parseObject validates a wire object.
func parseObject(o accessapi.Object) (acl.Object, error) {
	t, err := acl.ParseObjectType(o.Type)
	if err != nil {
		return acl.Object{}, InvalidRequest("object: " + err.Error())
	}
	obj, err := acl.NewObject(t, o.Driver, o.Attributes)
	if err != nil {
		return acl.Object{}, InvalidRequest("object: " + err.Error())
	}
	return obj, nil
}

// parsePermission parses "start" for objects of type t, or "domain:start".
func parsePermission(t acl.ObjectType, name string) (acl.Permission, error) {
	perm := name
	if typ, p, ok := strings.Cut(name, ":"); ok {
		pt, err := acl.ParseObjectType(typ)
		if err != nil || pt != t {
			return acl.Permission{}, InvalidRequest(fmt.Sprintf("permission %q is not one of %s objects", name, t))
		}
		perm = p
	}
	p, err := acl.ParsePermission(t, perm)
	if err != nil {
		var valid []string
		for _, p := range t.Permissions() {
			valid = append(valid, p.Name())
		}
		return acl.Permission{}, unknownPermission(name, valid)
	}
	return p, nil
}
