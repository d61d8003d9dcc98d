// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/authcache"
	"github.com/virt-acl-helper/virt-acl-helper/internal/ratelimit"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
)

// Reason says why a request was denied.
type Reason uint8

// The reasons for a deny.
const (
	Granted     Reason = iota // not denied
	Policy                    // an access driver's policy said no
	Unavailable               // a driver could not decide (polkit unreachable, timed out, ...)
	AuditFailed               // auditing is required and the record was not accepted
	Refused                   // a front end refused the operation before any driver was asked (see Engine.Refuse)
)

func (r Reason) String() string {
	return [...]string{"granted", "policy", "unavailable", "audit-failed", "refused"}[r]
}

// Decision is the engine's answer to one request.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Driver is the driver that denied, or the stack that allowed.
	Driver string
	// Cached reports whether the answer came from the cache.
	Cached bool
	// Err details an Unavailable or AuditFailed deny, for logs. It is not
	// meant for clients, who learn only the Reason.
	Err error
}

// Auditor records decisions. An error means the record was not accepted
// and auditing is required, so the engine denies.
type Auditor interface {
	Audit(ctx context.Context, r Request, d Decision) error
}

// Options configure an Engine.
type Options struct {
	// Drivers are asked in order; all must allow. At least one.
	Drivers []Driver
	// Cache holds decisions; nil disables caching.
	Cache *authcache.Cache
	// Auditor records every decision; nil records nothing.
	Auditor Auditor
	// DriverTimeout bounds one decision by the drivers (default 10 s).
	DriverTimeout time.Duration
	// Parallel bounds concurrent driver calls in CheckMany (default 16).
	Parallel int
	// Budget bounds the driver calls in flight across all requests,
	// shared fairly among the subjects' uids; nil: no bound. A request
	// waiting for a slot gives up when its context ends.
	Budget *limit.Fair
	Logger *slog.Logger
}

// Engine decides requests. It is safe for concurrent use.
type Engine struct {
	drivers []driverStats
	stack   string
	cache   *authcache.Cache
	auditor Auditor
	timeout time.Duration
	par     int
	log     *slog.Logger
	limit   *ratelimit.Limiter
	budget  *limit.Fair

	stop    context.CancelFunc
	watches sync.WaitGroup
	stats   engineCounters
	epoch   atomic.Uint64 // counts flushes of the cache
	retired atomic.Bool   // replaced: decide without the cache
}

// New returns an engine and starts watching its drivers for invalidation
// events. Close stops that.
func New(opts Options) (*Engine, error) {
	if len(opts.Drivers) == 0 {
		return nil, errors.New("access: no access drivers configured")
	}
	e := &Engine{
		stack:   stackName(opts.Drivers),
		cache:   opts.Cache,
		auditor: opts.Auditor,
		timeout: opts.DriverTimeout,
		par:     opts.Parallel,
		log:     opts.Logger,
		limit:   ratelimit.New(ratelimit.WarnEvery, nil),
		budget:  opts.Budget,
	}
	if e.timeout <= 0 {
		e.timeout = 10 * time.Second
	}
	if e.par <= 0 {
		e.par = 16
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.cache == nil {
		e.cache, _ = authcache.New(authcache.Options{}) // disabled cache; cannot fail
	}
	for _, d := range opts.Drivers {
		e.drivers = append(e.drivers, driverStats{Driver: d})
	}
	ctx, stop := context.WithCancel(context.Background())
	e.stop = stop
	for _, d := range opts.Drivers {
		if w, ok := d.(Watcher); ok {
			e.watches.Add(1)
			go func() {
				defer e.watches.Done()
				w.Watch(ctx, e.invalidate)
			}()
		}
	}
	return e, nil
}

// Close stops watching the drivers. It does not close them.
func (e *Engine) Close() {
	e.stop()
	e.watches.Wait()
}

// Stack names the configured drivers, e.g. "polkit" or "none,polkit".
func (e *Engine) Stack() string { return e.stack }

// Check decides r. The error is non-nil only for a request that cannot be
// decided at all (ErrInvalid, or ctx ending); every other outcome, including
// an unavailable driver, is a Decision, and every Decision was audited.
func (e *Engine) Check(ctx context.Context, r Request) (Decision, error) {
	if err := r.Validate(); err != nil {
		e.stats.invalid.Add(1)
		return Decision{}, err
	}
	return e.check(ctx, r)
}

func (e *Engine) check(ctx context.Context, r Request) (Decision, error) {
	start := time.Now()
	cd, cached, err := e.lookup(ctx, r)
	d := answer(cd, cached)
	switch {
	case ctx.Err() != nil:
		return Decision{}, ctx.Err()
	case err != nil:
		d = Decision{Reason: Unavailable, Driver: driverOf(err, e.stack), Err: err}
		if ok, held := e.limit.Allow(d.Driver); ok {
			e.log.Warn("access decision failed, denying", "permission", r.Permission.String(),
				"pid", r.Subject.PID, "uid", r.Subject.UID, "err", err, "suppressed", held)
		}
	}
	if !r.Origin.Listing || !d.Cached {
		d = e.audit(ctx, r, d)
	}
	e.stats.record(d, time.Since(start))
	return d, nil
}

// lookup returns the decision on r from the cache, or else from the
// drivers; cached reports which. A retired engine always asks the drivers.
func (e *Engine) lookup(ctx context.Context, r Request) (cd authcache.Decision, cached bool, err error) {
	if e.retired.Load() {
		cd, err = e.decide(ctx, r)
		return cd, false, err
	}
	key := keyOf(r)
	if cd, ok := e.cache.Lookup(key); ok {
		return cd, true, nil
	}
	cd, err = e.fresh(ctx, key, r)
	return cd, false, err
}

// fresh has the drivers decide r, sharing the call with concurrent
// callers asking the same, and caches the answer. It is apart from
// lookup so that only a miss pays for the closure and its copy of r.
func (e *Engine) fresh(ctx context.Context, key authcache.Key, r Request) (authcache.Decision, error) {
	return e.cache.Decide(ctx, key, func() (authcache.Decision, error) {
		return e.decide(ctx, r)
	})
}

// keyOf returns the cache key of r's decision.
func keyOf(r Request) authcache.Key {
	return authcache.NewKey(r.Subject.UID, r.Object, r.Permission).WithAction(r.Action)
}

// answer is the Decision on a driver's (or the cache's) answer.
func answer(cd authcache.Decision, cached bool) Decision {
	d := Decision{Allowed: cd.Allowed, Driver: cd.Driver, Cached: cached, Reason: Granted}
	if !d.Allowed {
		d.Reason = Policy
	}
	return d
}

// decide asks the drivers. It waits for a slot of the budget as long as
// caller lasts (a client that hung up asks nothing), then runs detached
// from any one caller's context (concurrent callers may share it) under
// the engine's own timeout.
func (e *Engine) decide(caller context.Context, r Request) (authcache.Decision, error) {
	if e.budget != nil {
		release, err := e.budget.Acquire(caller, r.Subject.UID)
		if err != nil {
			return authcache.Decision{}, &driverError{driver: e.stack, err: fmt.Errorf("no driver call started: %w", err)}
		}
		defer release()
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	allowed, by, err := checkDrivers(ctx, e.drivers, r)
	if err != nil {
		return authcache.Decision{}, &driverError{driver: by, err: err}
	}
	if allowed {
		by = e.stack
	}
	return authcache.Decision{Allowed: allowed, Driver: by}, nil
}

// audit records d; when the record is refused (auditing required), the
// decision becomes a deny.
func (e *Engine) audit(ctx context.Context, r Request, d Decision) Decision {
	if e.auditor == nil {
		return d
	}
	if err := e.auditor.Audit(ctx, r, d); err != nil {
		return e.auditFailed(d, err)
	}
	return d
}

// auditFailed is d denied because its audit record was refused.
func (e *Engine) auditFailed(d Decision, err error) Decision {
	e.stats.auditFailed.Add(1)
	return Decision{Reason: AuditFailed, Driver: d.Driver, Cached: d.Cached,
		Err: fmt.Errorf("audit record not written: %w", err)}
}

// Epoch counts the times cached decisions were dropped (polkit's rules
// changed, polkitd restarted, a flush was asked for). Front ends that
// remember answers of their own, such as a connection's privileges,
// drop them when it moves. It moves after the cache is flushed: a reader
// that reads it, then the cache, then it again (CheckMany does) sees it
// move whenever what it read may have been flushed. Moving it first left
// a window where a reader took the new epoch and the old entries.
func (e *Engine) Epoch() uint64 { return e.epoch.Load() }

// invalidate flushes the cache because of an outside event.
func (e *Engine) invalidate(reason string) {
	e.cache.Flush()
	e.epoch.Add(1)
	e.stats.countInvalidation(reason)
	e.log.Info("access decision cache flushed", "reason", reason)
}

// Retire empties the cache of an engine that has been replaced (a
// reload) and keeps it from caching again: requests that took the engine
// before it was replaced, such as a CheckMany straddling the reload, are
// decided afresh for the rest of their life, never from decisions the
// replacement was meant to drop. Epoch moves, so front ends drop what
// they remembered too.
func (e *Engine) Retire() {
	e.retired.Store(true)
	e.invalidate("retired")
}

// Flush drops every cached decision.
func (e *Engine) Flush() { e.invalidate("request") }

// FlushUID drops the cached decisions about processes of uid.
func (e *Engine) FlushUID(uid uint32) int {
	n := e.cache.FlushUID(uid)
	e.epoch.Add(1)
	return n
}

// FlushObject drops the cached decisions about obj.
func (e *Engine) FlushObject(obj acl.Object) int {
	n := e.cache.FlushObject(obj.Identity())
	e.epoch.Add(1)
	return n
}

// driverError carries the name of the driver that failed through the cache.
type driverError struct {
	driver string
	err    error
}

func (e *driverError) Error() string { return e.err.Error() }
func (e *driverError) Unwrap() error { return e.err }

func driverOf(err error, fallback string) string {
	var de *driverError
	if errors.As(err, &de) {
		return de.driver
	}
	return fallback
}
