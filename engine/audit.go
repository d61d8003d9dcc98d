// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"fmt"
	"log/slog"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/config"
)

// AuditorFunc builds the auditor for a configuration whose audit_level is
// not 0, or whose audit_logging is on. The returned close function is
// called when the generation is retired.
type AuditorFunc func(cfg config.Config, log *slog.Logger) (access.Auditor, func(), error)

// openAudit is the default AuditorFunc: the kernel audit writer at the
// configured audit_level, which also logs decisions when audit_logging is
// set. At level 1 it opens even when the host's audit is unusable (and
// says so); at level 2 that is an error.
func openAudit(cfg config.Config, log *slog.Logger) (access.Auditor, func(), error) {
	w, err := audit.Open(audit.Config{Level: audit.Level(cfg.AuditLevel), Log: cfg.AuditLogging, Logger: log,
		QueueSize: auditQueueSize(cfg)})
	if err != nil {
		return nil, nil, err
	}
	return access.AuditTo(w), func() { w.Close() }, nil
}

// auditQueueSize is the audit writer's queue for cfg: room for the
// records of a whole CheckMany of max_objects cached decisions, which are
// queued at once (faster than the kernel takes them), on top of the
// default for everyone else's. At level 1 a record that finds the queue
// full is lost.
func auditQueueSize(cfg config.Config) int {
	return audit.DefaultQueueSize + max(cfg.MaxObjects, 0)
}

// makeAuditor builds the auditor audit_level and audit_logging ask for.
// Level 1 runs on without one when auditing cannot be set up; level 2
// refuses to start.
func (g *Generation) makeAuditor(cfg config.Config, newAuditor AuditorFunc, log *slog.Logger) (access.Auditor, error) {
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
