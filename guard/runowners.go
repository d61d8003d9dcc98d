// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/virt-acl-helper/virt-acl-helper/audit"
	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
	"github.com/virt-acl-helper/virt-acl-helper/roles"
)

// startOwners returns the recorder of domains' creators when
// guard_create_own is set (nil otherwise), with the roles in their
// default places, confirmed with the system bus's polkitd as roles apply
// does. Call the returned function at exit.
func startOwners(ctx context.Context, cfg config.Config, log *slog.Logger) (*roles.Owners, func(), error) {
	if !cfg.GuardCreateOwn {
		return nil, func() {}, nil
	}
	if cfg.XMLPolicy == "" {
		return nil, nil, errors.New(`guard_create_own = 1 needs an XML content policy (xml_policy): without one, whoever defines a domain is root on the host`)
	}
	auth, err := polkit.Dial(ctx, polkit.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("guard_create_own: %w", err)
	}
	log.Info("users with a roles create grant define domains of their own", "roles", roles.DefaultDir, "rules", roles.DefaultRulesPath)
	o := &roles.Owners{Dir: roles.DefaultDir, Rules: roles.DefaultRulesPath, Prober: roles.PolkitProber{Authority: auth},
		Accounts: roles.System{}, Record: audit.WriteChange}
	return o, func() { auth.Close() }, nil
}
