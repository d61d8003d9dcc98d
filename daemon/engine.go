package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/authcache"
	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
	"github.com/virt-acl-helper/virt-acl-helper/server"
)

// AuditorFunc builds the auditor for a configuration whose audit_level is
// not 0. The returned close function is called when the configuration is
// replaced or the daemon stops.
type AuditorFunc func(cfg config.Config, log *slog.Logger) (access.Auditor, func(), error)

// generation is everything one configuration builds. A reload builds a new
// one and retires the old after the calls using it have finished.
type generation struct {
	cfg        config.Config
	engine     *access.Engine
	authority  *polkit.Authority // nil when polkit cannot be reached and is not required
	authorizer server.Authorizer // nil: only root is privileged
	closeAudit func()
}

// build makes a generation from cfg.
func build(ctx context.Context, cfg config.Config, newAuditor AuditorFunc, log *slog.Logger) (*generation, error) {
	g := &generation{cfg: cfg}
	// The bus may come up after the daemon (socket activation at boot):
	// until it does, polkit's checks answer "unavailable".
	auth, err := polkit.Dial(ctx, polkit.Options{CallTimeout: cfg.PolkitTimeout, WaitForBus: true})
	switch {
	case err == nil:
		g.authority = auth
		g.authorizer = server.PolkitAuthorizer{Authority: auth}
	case usesPolkit(cfg):
		return nil, fmt.Errorf("access driver polkit: %w", err)
	default:
		log.Warn("polkit unreachable: only root may ask about other processes, flush or read stats", "err", err)
	}
	drivers, err := makeDrivers(cfg, auth)
	if err != nil {
		g.close()
		return nil, err
	}
	auditor, err := g.makeAuditor(cfg, newAuditor, log)
	if err != nil {
		g.close()
		return nil, err
	}
	cache, err := authcache.New(authcache.Options{Size: cfg.CacheSize, AllowTTL: cfg.CacheAllowTTL, DenyTTL: cfg.CacheDenyTTL})
	if err != nil {
		g.close()
		return nil, err
	}
	g.engine, err = access.New(access.Options{Drivers: drivers, Cache: cache, Auditor: auditor,
		DriverTimeout: cfg.PolkitTimeout + time.Second, Logger: log})
	if err != nil {
		g.close()
		return nil, err
	}
	if cfg.AccessControlDisabled() {
		log.Warn("ACCESS CONTROL IS OFF: access_drivers is [\"none\"], so every request is allowed")
	}
	return g, nil
}

func usesPolkit(cfg config.Config) bool {
	for _, d := range cfg.AccessDrivers {
		if d == acl.AccessDriverPolkit {
			return true
		}
	}
	return false
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

// makeAuditor builds the auditor audit_level and audit_logging ask for.
// Level 1 runs on without one when auditing cannot be set up; level 2
// refuses to start.
func (g *generation) makeAuditor(cfg config.Config, newAuditor AuditorFunc, log *slog.Logger) (access.Auditor, error) {
	if cfg.AuditLevel == config.AuditOff && !cfg.AuditLogging {
		return nil, nil
	}
	if newAuditor == nil {
		newAuditor = openAudit
	}
	a, closeAudit, err := newAuditor(cfg, log)
	if err == nil {
		g.closeAudit = closeAudit
		return a, nil
	}
	if cfg.AuditLevel == config.AuditRequired {
		return nil, fmt.Errorf("audit_level = 2 requires auditing: %w", err)
	}
	log.Warn("access decisions will not be audited", "err", err)
	return nil, nil
}

// close releases what g holds; calls still using its engine fail closed.
func (g *generation) close() {
	if g.engine != nil {
		g.engine.Close()
	}
	if g.closeAudit != nil {
		g.closeAudit()
	}
	if g.authority != nil {
		g.authority.Close()
	}
}
