// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"context"
	"fmt"
	"os"

	"github.com/virt-acl-helper/virt-acl-helper/polkit"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// probeUID is the user the probe asks about: nobody. polkitd authorizes
// root for everything without running rules, so the subject must not be
// root; polkitd takes the uid the caller (root) vouches for.
const probeUID = 65534

// PolkitProber asks polkitd over the system bus. The caller must be root
// (only trusted callers may pass details).
type PolkitProber struct {
	Authority *polkit.Authority
}

// Probe asks whether nobody may use ProbeAction with the probe detail set
// to digest: the rendered rule, and only it, answers NO.
func (p PolkitProber) Probe(ctx context.Context, digest string) (bool, error) {
	self, err := proc.Lookup(int32(os.Getpid()))
	if err != nil {
		return false, fmt.Errorf("probe: %w", err)
	}
	sub := polkit.ProcessSubject(self)
	sub.UID = probeUID
	details := map[string]string{"connect_driver": "QEMU", ProbeKey: digest}
	res, err := p.Authority.Check(ctx, sub, ProbeAction, details)
	if err != nil {
		return false, fmt.Errorf("probe: %w", err)
	}
	return !res.Authorized && !res.Challenge, nil
}
