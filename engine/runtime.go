// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/config"
)

// Options configure how a Runtime builds generations.
type Options struct {
	// NewAuditor builds the auditor; nil means the kernel's audit (package
	// audit). Tests pass their own.
	NewAuditor AuditorFunc
	Logger     *slog.Logger
}

// Runtime holds the generation in use, builds the next one on Reload and
// retires the old. It is safe for concurrent use.
type Runtime struct {
	opts Options
	cur  atomic.Pointer[Generation]

	mu     sync.Mutex // serialises Reload and Close
	closed bool
}

// Start builds the first generation from cfg.
func Start(ctx context.Context, cfg config.Config, opts Options) (*Runtime, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	g, err := build(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	return New(g, opts), nil
}

// New returns a Runtime serving g, a generation built elsewhere: around
// an engine of one's own, as tests of front ends do. Reload builds the
// next generation from a configuration, as Start does.
func New(g *Generation, opts Options) *Runtime {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rt := &Runtime{opts: opts}
	rt.cur.Store(g)
	return rt
}

// Current returns the generation to use. A front end takes it once per
// request and uses that generation's engine, authorizer and limits for the
// whole request, even if a reload replaces it meanwhile.
func (rt *Runtime) Current() *Generation { return rt.cur.Load() }

// ErrClosed is Reload's error after Close.
var ErrClosed = errors.New("engine: runtime closed")

// Reload builds a generation from cfg, with an empty decision cache, and
// makes it current. The old generation is closed once the calls that took
// it have had time to finish. If the new one cannot be built, the current
// one stays and the error says why.
func (rt *Runtime) Reload(ctx context.Context, cfg config.Config) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return ErrClosed
	}
	g, err := build(ctx, cfg, rt.opts)
	if err != nil {
		return err
	}
	old := rt.cur.Swap(g)
	old.Engine.Retire() // calls still on it decide afresh, never from its cache
	time.AfterFunc(old.retireAfter(), old.Close)
	return nil
}

// Close closes the current generation; call it when no request runs any
// more. Later requests fail closed.
func (rt *Runtime) Close() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return
	}
	rt.closed = true
	rt.Current().Close()
}
