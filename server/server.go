// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/identity"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
	"github.com/virt-acl-helper/virt-acl-helper/policy"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// defaultMaxObjects bounds a CheckMany when the configuration says nothing.
const defaultMaxObjects = 16384

// Options configure a Server.
type Options struct {
	// Runtime gives each call the generation to decide with: its engine,
	// its Authorizer for callers other than root (nil makes root the only
	// privileged caller), and its limits (max_objects; cache_allow_ttl,
	// for how long polkit's yes to a privileged caller is reused).
	Runtime *engine.Runtime
	// Lookup reads a process; nil means proc.Lookup.
	Lookup func(pid int32) (proc.Process, error)
	// Connections reports the open connections for Stats; may be nil.
	Connections func() int
	// Slots limits the connections of unprivileged users (per uid, and
	// all together, leaving slots for root and proxies); nil: no limit.
	// Install ConnDone with ConnContext to give slots back.
	Slots  *limit.Conns
	Logger *slog.Logger
}

// Server handles the interface's calls. It is safe for concurrent use.
type Server struct {
	rt    *engine.Runtime
	ident identity.Resolver
	conns func() int
	slots *limit.Conns
	log   *slog.Logger
}

// New returns a server deciding with opts.Runtime's current generation.
func New(opts Options) (*Server, error) {
	if opts.Runtime == nil {
		return nil, errors.New("server: no engine runtime")
	}
	s := &Server{rt: opts.Runtime, ident: identity.Resolver{Lookup: opts.Lookup}, conns: opts.Connections, slots: opts.Slots, log: opts.Logger}
	if s.conns == nil {
		s.conns = func() int { return 0 }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Interface returns the varlink interface to register with a varlink.Server.
func (s *Server) Interface() varlink.Interface {
	// The hot methods' parameters are decoded with the call.
	check, checkParams := decodedWithCall(s.check)
	checkMany, checkManyParams := decodedWithCall(s.checkMany)
	return varlink.Interface{
		Name:        accessapi.Interface,
		Description: accessapi.Description,
		Methods: map[string]varlink.MethodFunc{
			"Check":     check,
			"CheckMany": checkMany,
			"Flush":     s.flush,
			"Stats":     s.stats,
		},
		Params: map[string]func() any{
			"Check":     checkParams,
			"CheckMany": checkManyParams,
		},
	}
}

// decodedWithCall returns method m, which takes its parameters decoded
// into a P, as a varlink method, and the varlink.Interface.Params entry
// that has them decoded with the call. P is named once, by m: a Params
// type apart from the one the method decodes into would silently cost a
// second decoding of every call.
func decodedWithCall[P any](m func(context.Context, *P) (any, error)) (varlink.MethodFunc, func() any) {
	method := func(ctx context.Context, c *varlink.Call) (any, error) {
		var in P
		if err := c.Decode(&in); err != nil {
			return nil, err
		}
		return m(ctx, &in)
	}
	return method, func() any { return new(P) }
}

type callerKey struct{}

// ConnContext reads the connecting process once, right after accept, and
// remembers it as the connection's caller. Pass it as
// varlink.Options.ConnContext, and ConnDone as varlink.Options.ConnDone.
// A peer that cannot be read (gone already, in another pid namespace) or
// whose uid no longer matches its credentials is refused.
//
// With Options.Slots, a user other than root gets one of the slots of
// unprivileged users, and its connection is closed after
// client_max_lifetime; when none is left for it, a caller granted
// check-other (a proxy) takes a reserved one, anyone else is refused
// with TooManyConnections.
func (s *Server) ConnContext(ctx context.Context, peer identity.Cred) (context.Context, error) {
	p, err := s.ident.Caller(peer)
	if err != nil {
		return nil, err
	}
	c := newConnCaller(p)
	ctx = context.WithValue(ctx, callerKey{}, c)
	if p.UID == 0 || s.slots == nil {
		return ctx, nil
	}
	g := s.rt.Current()
	if s.slots.Acquire(p.UID) {
		c.slot = true
		if life := g.Config.ClientMaxLifetime; life > 0 {
			ctx = varlink.CloseAfter(ctx, time.Now().Add(life))
		}
		return ctx, nil
	}
	if s.mayVouch(ctx, g, c) {
		return ctx, nil
	}
	return nil, TooManyConnections(s.slots.PerUser())
}

// ConnDone gives back the slot of a connection that ends, and the
// processes it held for reuse.
func (s *Server) ConnDone(ctx context.Context) {
	c, err := caller(ctx)
	if err != nil {
		return
	}
	c.seen.Close()
	if c.slot {
		s.slots.Release(c.proc.UID)
	}
}

// connCaller is a connection's caller and what polkit answered about its
// privileges.
type connCaller struct {
	proc proc.Process
	slot bool          // holds one of Options.Slots
	seen identity.Seen // the processes it named lately, held for reuse

	mu      sync.Mutex
	answers map[string]answer // action -> polkit's last answer
}

// answer is polkit's answer on one of the helper's actions, reused until
// a deadline, and only while the generation and its cache epoch are the
// ones it was given under: a reload, polkit's Changed signal or a flush
// voids it, as they void cached decisions.
type answer struct {
	ok    bool
	until time.Time
	gen   *engine.Generation
	epoch uint64
}

func newConnCaller(p proc.Process) *connCaller {
	return &connCaller{proc: p, answers: map[string]answer{}}
}

// known returns the remembered answer on action, if it still holds.
func (c *connCaller) known(action string, g *engine.Generation, now time.Time) (ok, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, found := c.answers[action]
	if !found || a.gen != g || a.epoch != g.Engine.Epoch() || !now.Before(a.until) {
		return false, false
	}
	return a.ok, true
}

// remember keeps polkit's answer on action, given under g, until until.
func (c *connCaller) remember(action string, ok bool, g *engine.Generation, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answers[action] = answer{ok: ok, until: until, gen: g, epoch: g.Engine.Epoch()}
}

// caller returns the connection's caller; fail closed without one.
func caller(ctx context.Context) (*connCaller, error) {
	c, ok := ctx.Value(callerKey{}).(*connCaller)
	if !ok {
		return nil, errors.New("server: connection without a caller (ConnContext not installed)")
	}
	return c, nil
}

// privileged lets root, and callers g's Authorizer authorizes for action, pass.
func (s *Server) privileged(ctx context.Context, g *engine.Generation, c *connCaller, action string) error {
	p := c.proc
	if p.UID == 0 {
		return nil
	}
	if g.Authorizer == nil {
		return notPrivileged(action)
	}
	now := time.Now()
	if ok, known := c.known(action, g, now); known && ok {
		return nil
	}
	epoch := g.Engine.Epoch()
	ok, err := g.Authorizer.Authorized(ctx, p, action)
	if err != nil {
		s.log.Warn("privilege check failed, refusing", "action", action, "pid", p.PID, "uid", p.UID, "err", err)
		return unavailable("polkit")
	}
	if !ok {
		s.log.Info("caller not privileged", "action", action, "pid", p.PID, "uid", p.UID)
		return notPrivileged(action)
	}
	// Like a cached allow, a revoked right can take cache_allow_ttl to
	// apply to an open connection, unless polkit's rules change (the
	// epoch moves); 0 asks polkit every time.
	if ttl := g.Config.CacheAllowTTL; ttl > 0 && epoch == g.Engine.Epoch() {
		c.remember(action, true, g, now.Add(ttl))
	}
	return nil
}

// subject returns the process a request is about, and the origin its
// audit record names: the caller (requester=self), or for a privileged
// caller the process it names, which must be pinned by uid (and may be
// by start time); polkit is then asked about the pinned uid, and the
// record names the caller as the proxy.
func (s *Server) subject(ctx context.Context, g *engine.Generation, c *connCaller, sub *accessapi.Subject) (proc.Process, access.Origin, error) {
	self := c.proc
	if sub == nil {
		return self, access.Origin{}, nil
	}
	if sub.PID <= 0 || sub.PID > math.MaxInt32 {
		return proc.Process{}, access.Origin{}, InvalidRequest(fmt.Sprintf("subject: invalid pid %d", sub.PID))
	}
	if int32(sub.PID) != self.PID {
		if err := s.privileged(ctx, g, c, policy.ActionCheckOther); err != nil {
			return proc.Process{}, access.Origin{}, err
		}
	}
	p, err := s.ident.PinnedSeen(self, identity.Pin{PID: int32(sub.PID), UID: sub.UID, StartTime: sub.StartTime}, &c.seen)
	switch {
	case errors.Is(err, identity.ErrUnpinned):
		return proc.Process{}, access.Origin{}, InvalidRequest("subject: uid is required when naming another process: " +
			"pass the uid its socket credentials (SO_PEERCRED) gave you")
	case errors.Is(err, identity.ErrForeignNamespace):
		return proc.Process{}, access.Origin{}, InvalidRequest("subject: the caller is in another pid namespace, " +
			"where pids name other processes; ask from the host's pid namespace")
	case err != nil:
		return proc.Process{}, access.Origin{}, noSuchProcess(sub.PID)
	}
	if p.PID == self.PID {
		return p, access.Origin{}, nil
	}
	return p, access.Origin{Requester: &self}, nil
}

// objects applies restrict_object_details: a caller asking about itself
// that is neither root nor granted check-other has its objects reduced to
// their type and driver, so polkit and the audit record see no detail it
// chose. A proxy's questions keep theirs: it vouches for them.
func (s *Server) objects(ctx context.Context, g *engine.Generation, c *connCaller, origin access.Origin, objs []acl.Object) {
	if !g.Config.RestrictObjectDetails || origin.Requester != nil || s.mayVouch(ctx, g, c) {
		return
	}
	for i := range objs {
		objs[i] = objs[i].Anonymous()
	}
}

// admit applies rate_limit to a caller asking for n decisions: root and
// callers granted check-other (proxies) are not limited.
func (s *Server) admit(ctx context.Context, g *engine.Generation, c *connCaller, n int) error {
	if c.proc.UID == 0 || g.Admit(c.proc, n, func() bool { return s.mayVouch(ctx, g, c) }) {
		return nil
	}
	return rateLimited(g.Rate.PerSecond())
}

// mayVouch reports, without logging, whether c is root or granted
// check-other, remembering polkit's answer on the connection (a yes for
// cache_allow_ttl, a no for cache_deny_ttl).
func (s *Server) mayVouch(ctx context.Context, g *engine.Generation, c *connCaller) bool {
	p := c.proc
	if p.UID == 0 {
		return true
	}
	now := time.Now()
	if ok, known := c.known(policy.ActionCheckOther, g, now); known {
		return ok
	}
	if g.Authorizer == nil {
		return false
	}
	epoch := g.Engine.Epoch()
	ok, err := g.Authorizer.Authorized(ctx, p, policy.ActionCheckOther)
	if err != nil {
		return false // not remembered: ask again next time
	}
	ttl := g.Config.CacheDenyTTL
	if ok {
		ttl = g.Config.CacheAllowTTL
	}
	if ttl > 0 && epoch == g.Engine.Epoch() {
		c.remember(policy.ActionCheckOther, ok, g, now.Add(ttl))
	}
	return ok
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
