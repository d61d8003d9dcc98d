// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
)

// OpOwn is the audit op of a grant the guard records for a domain's
// creator (README "Users who create their own VMs").
const OpOwn = "roles-own"

// Owners records who owns the domains users create through the guard,
// with the machinery of roles grant: dir's lock, the managed file, the
// rule installed and confirmed by the running polkitd, a USYS_CONFIG
// record. Its zero value is unusable; it is safe for concurrent use
// (the lock serialises changes, across processes too).
type Owners struct {
	Dir      string // the roles directory (DefaultDir)
	Rules    string // the rule file installed (DefaultRulesPath)
	Prober   Prober
	Accounts Accounts
	// Wait bounds how long polkitd has to load the new rule (Installer).
	Wait time.Duration
	// Record writes the change's audit record (audit.WriteChange); an
	// error undoes the grant.
	Record func(audit.Change) error
}

// Load reads the policy in force in o.Dir.
func (o *Owners) Load() (*Policy, error) { return Load(o.Dir, o.Accounts) }

// Own grants role to user on the domain uuid (named name, for people),
// applies it and records it. It returns only once polkitd runs the new
// rule; on any failure nothing of the grant is left: the managed file is
// restored and polkitd keeps the previous rule.
func (o *Owners) Own(ctx context.Context, user, role, uuid, name string) (Grant, error) {
	g := Grant{Role: role, Subject: Subject{User: user}, Object: Object{Type: acl.Domain, UUID: uuid}, Name: name}
	unlock, err := LockContext(ctx, o.Dir)
	if err != nil {
		return g, err
	}
	defer unlock()
	e, err := AddGrant(o.Dir, g, o.Accounts)
	if err != nil {
		o.record(e.Grant, g, "no", false)
		return g, fmt.Errorf("record the owner: %w", err)
	}
	in := Installer{Path: o.Rules, Prober: o.Prober, Wait: o.Wait}
	if err = in.Install(ctx, Render(e.Policy)); err == nil {
		if err = o.record(e.Grant, g, "yes", true); err != nil {
			err = fmt.Errorf("audit record: %w", err)
		}
	}
	if err != nil {
		err = errors.Join(fmt.Errorf("record the owner: %w", err), o.undo(ctx, in, g))
		o.record(e.Grant, g, "no", false) // best effort: the failure is returned either way
		return g, err
	}
	return e.Grant, nil
}

// undo removes g again and puts the rule without it back in force.
func (o *Owners) undo(ctx context.Context, in Installer, g Grant) error {
	e, err := RemoveGrant(o.Dir, g, o.Accounts)
	if err != nil {
		return fmt.Errorf("undo the grant: %w", err)
	}
	if err := in.Install(ctx, Render(e.Policy)); err != nil {
		return fmt.Errorf("undo the grant: %w", err)
	}
	return nil
}

func (o *Owners) record(g, fallback Grant, applied string, success bool) error {
	if g.Role == "" {
		g = fallback
	}
	return o.Record(audit.Change{Op: OpOwn, Fields: ChangeFields(g, applied), Success: success})
}

// ChangeFields are the fields of a grant's change record: role, who,
// where it is written, whether it was applied, and the object (vm= and
// uuid= for a domain, which ausearch matches).
func ChangeFields(g Grant, applied string) []audit.Detail {
	fs := []audit.Detail{{Key: "role", Value: g.Role}, {Key: "object_type", Value: g.Object.Type.String()}}
	if g.Subject.Group != "" {
		fs = append(fs, audit.Detail{Key: "grp", Value: g.Subject.Group})
	} else {
		fs = append(fs, audit.Detail{Key: "acct", Value: g.Subject.User})
	}
	if g.Source.File != "" {
		fs = append(fs, audit.Detail{Key: "file", Value: g.Source.File})
	}
	if applied != "" {
		fs = append(fs, audit.Detail{Key: "applied", Value: applied})
	}
	if g.Object.Type == acl.Domain && g.Name != "" {
		fs = append(fs, audit.Detail{Key: "vm", Value: g.Name})
	} else if g.Name != "" {
		fs = append(fs, audit.Detail{Key: "object_name", Value: g.Name})
	}
	switch g.Object.UUID {
	case Any:
		fs = append(fs, audit.Detail{Key: "object", Value: "all"})
	case New:
		fs = append(fs, audit.Detail{Key: "object", Value: "new"})
	default:
		fs = append(fs, audit.Detail{Key: "uuid", Value: g.Object.UUID})
	}
	return fs
}
