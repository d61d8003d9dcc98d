package server

import (
	"context"

	"github.com/virt-acl-helper/virt-acl-helper/polkit"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// PolkitAuthorizer asks polkit about the helper's own actions, with the
// caller process as the subject and no details.
type PolkitAuthorizer struct{ Authority *polkit.Authority }

// Authorized reports whether polkit authorizes subject for action.
func (a PolkitAuthorizer) Authorized(ctx context.Context, subject proc.Process, action string) (bool, error) {
	res, err := a.Authority.Check(ctx, polkit.Subject{PID: uint32(subject.PID), StartTime: subject.StartTime, UID: subject.UID}, action, nil)
	if err != nil {
		return false, err
	}
	return res.Authorized, nil
}
