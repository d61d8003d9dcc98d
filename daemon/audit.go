package daemon

import (
	"log/slog"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/config"
)

// openAudit is the default AuditorFunc: the kernel audit writer at the
// configured audit_level, which also logs decisions when audit_logging is
// set. At level 1 it opens even when the host's audit is unusable (and
// says so); at level 2 that is an error.
func openAudit(cfg config.Config, log *slog.Logger) (access.Auditor, func(), error) {
	w, err := audit.Open(audit.Config{Level: audit.Level(cfg.AuditLevel), Log: cfg.AuditLogging, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return access.AuditTo(w), func() { w.Close() }, nil
}
