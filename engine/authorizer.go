// SPDX-License-Identifier: Apache-2.0

package engine

import (
	"context"
	"errors"

	"github.com/virt-acl-helper/virt-acl-helper/limit"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// Authorizer decides whether a process may perform one of the helper's
// own polkit actions (policy.ActionCheckOther, ActionFlush, ActionStats).
// An error means no decision, which denies.
type Authorizer interface {
	Authorized(ctx context.Context, subject proc.Process, action string) (bool, error)
}

// polkitAuthorizer asks polkit, with the process as the subject and no
// details, within the budget of polkit calls the access driver uses.
type polkitAuthorizer struct {
	auth   *polkit.Authority
	budget *limit.Fair
}

func (a polkitAuthorizer) Authorized(ctx context.Context, subject proc.Process, action string) (bool, error) {
	release, err := a.budget.Acquire(ctx, subject.UID)
	if err != nil {
		return false, err
	}
	defer release()
	res, err := a.auth.Check(ctx, polkit.ProcessSubject(subject), action, nil)
	if err != nil {
		return false, err
	}
	return res.Authorized, nil
}

// unreachable is the Authorizer of a generation without polkit: it never
// decides, so only root is privileged.
type unreachable struct{}

func (unreachable) Authorized(context.Context, proc.Process, string) (bool, error) {
	return false, errors.New("polkit unreachable")
}
