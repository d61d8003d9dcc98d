// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"errors"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
)

// Errors for polkit answers that are neither yes nor no. libvirt reports
// both as authentication errors, not as policy denials; so do we, which
// also keeps them out of the cache.
var (
	ErrChallenge = errors.New("polkit requires interactive authentication, which is not available (no polkit agent)")
	ErrDismissed = errors.New("polkit authentication was dismissed")
)

// Polkit is the "polkit" access driver. It asks polkitd exactly what
// libvirt's polkit driver (src/access/viraccessdriverpolkit.c) asks: the
// subject process by pid, start time and uid, libvirt's action id, and the
// object's details with connect_driver first, without user interaction. So
// a site's existing libvirt polkit rules decide the same way here.
type Polkit struct {
	auth *polkit.Authority
}

// NewPolkit returns the polkit driver asking auth.
func NewPolkit(auth *polkit.Authority) *Polkit { return &Polkit{auth: auth} }

// Name returns "polkit".
func (*Polkit) Name() string { return acl.AccessDriverPolkit }

// Check asks polkit. Errors (polkit unreachable, a challenge, a dismissal)
// mean no decision.
func (p *Polkit) Check(ctx context.Context, r Request) (bool, error) {
	details := make(map[string]string, 6)
	for _, d := range r.Object.Details() {
		details[d.Key] = d.Value
	}
	res, err := p.auth.Check(ctx, polkit.ProcessSubject(r.Subject), r.ActionID(), details)
	switch {
	case err != nil:
		return false, err
	case res.Authorized:
		return true, nil
	case res.Challenge:
		return false, ErrChallenge
	case res.Dismissed:
		return false, ErrDismissed
	}
	return false, nil
}

// Watch turns the authority's events into cache invalidations: polkit's
// Changed signal, polkitd restarting, and the bus connection going and
// coming back all may change answers.
func (p *Polkit) Watch(ctx context.Context, invalidate func(reason string)) {
	for {
		select {
		case ev, ok := <-p.auth.Events():
			if !ok {
				return
			}
			invalidate("polkit-" + ev.Reason.String())
		case <-ctx.Done():
			return
		}
	}
}
