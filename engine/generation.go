// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/authcache"
	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
)

// Generation is everything one configuration builds. A reload builds a new
// one and retires the old after the calls using it have finished.
type Generation struct {
	// Config is the configuration the generation was built from; front
	// ends read their per-request limits from it.
	Config config.Config
	// Engine decides requests.
	Engine *access.Engine
	// Authorizer answers for callers other than root on the helper's own
	// actions. Nil makes root the only privileged caller.
	Authorizer Authorizer
	// Rate is rate_limit, per uid; nil admits everything. Front ends
	// ask it through Admit.
	Rate *limit.Rate

	authority   *polkit.Authority // nil when polkit cannot be reached and is not required
	closeAudit  func()
	stopSummary chan struct{}
	summarised  chan struct{}
	closeOnce   sync.Once
}

// build makes a generation from cfg.
func build(ctx context.Context, cfg config.Config, opts Options) (*Generation, error) {
	g := &Generation{Config: cfg, Authorizer: unreachable{}}
	log := opts.Logger
	// The bus may come up after the daemon (socket activation at boot):
	// until it does, polkit's checks answer "unavailable".
	auth, err := polkit.Dial(ctx, polkit.Options{CallTimeout: cfg.PolkitTimeout, WaitForBus: true})
	var budget *limit.Fair
	switch {
	case err == nil:
		g.authority = auth
		// All polkit calls share one bus connection, on which
		// dbus-daemon allows 128 pending replies.
		budget = limit.NewFair(cfg.PolkitMaxCalls)
		g.Authorizer = polkitAuthorizer{auth: auth, budget: budget}
	case slices.Contains(cfg.AccessDrivers, acl.AccessDriverPolkit):
		return nil, fmt.Errorf("access driver polkit: %w", err)
	default:
		log.Warn("polkit unreachable: only root may ask about other processes, flush or read stats", "err", err)
	}
	drivers, err := makeDrivers(cfg, auth)
	if err != nil {
		g.Close()
		return nil, err
	}
	auditor, err := g.makeAuditor(cfg, opts.NewAuditor, log)
	if err != nil {
		g.Close()
		return nil, err
	}
	cache, err := authcache.New(authcache.Options{Size: cfg.CacheSize, AllowTTL: cfg.CacheAllowTTL, DenyTTL: cfg.CacheDenyTTL})
	if err != nil {
		g.Close()
		return nil, err
	}
	g.Engine, err = access.New(access.Options{Drivers: drivers, Cache: cache, Auditor: auditor,
		DriverTimeout: cfg.PolkitTimeout + time.Second, Budget: budget, Logger: log})
	if err != nil {
		g.Close()
		return nil, err
	}
	g.Rate = limit.NewRate(float64(cfg.RateLimit), cfg.RateLimitBurst, nil)
	g.stopSummary, g.summarised = make(chan struct{}), make(chan struct{})
	go g.summarise(g.stopSummary, g.summarised, log)
	if cfg.AccessControlDisabled() {
		log.Warn("ACCESS CONTROL IS OFF: access_drivers is [\"none\"], so every request is allowed")
	}
	return g, nil
}

func makeDrivers(cfg config.Config, auth *polkit.Authority) ([]access.Driver, error) {
	var drivers []access.Driver
	for _, name := range cfg.AccessDrivers {
		switch name {
		case acl.AccessDriverNone:
			drivers = append(drivers, access.None{})
		case acl.AccessDriverPolkit:
			drivers = append(drivers, access.NewPolkit(auth))
		default:
			return nil, fmt.Errorf("unknown access driver %q", name)
		}
	}
	return drivers, nil
}

// Close releases what g holds; calls still using its engine fail closed.
func (g *Generation) Close() {
	g.closeOnce.Do(g.close)
}

func (g *Generation) close() {
	if g.stopSummary != nil {
		close(g.stopSummary) // the last summary is audited before the auditor closes
		<-g.summarised
	}
	if g.Engine != nil {
		g.Engine.Close()
	}
	if g.closeAudit != nil {
		g.closeAudit()
	}
	if g.authority != nil {
		g.authority.Close()
	}
}

// retireAfter is how long g stays usable after being replaced: calls that
// took it finish within the drivers' timeout.
func (g *Generation) retireAfter() time.Duration { return g.Config.PolkitTimeout + 2*time.Second }
