// SPDX-License-Identifier: Apache-2.0

// Package access decides whether a local process may use a libvirt
// permission on an object: it validates the request, asks every configured
// access driver (all must allow, as in libvirt), caches the answer, and has
// every decision audited.
//
// The engine knows nothing of sockets or command lines; the daemon, and
// anything else that enforces libvirt access control, calls it.
package access

import (
	"errors"
	"fmt"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// ErrInvalid marks a request that cannot be decided because it is
// malformed. Nothing invalid reaches a driver, the cache or the audit log.
var ErrInvalid = errors.New("invalid request")

// Request asks whether Subject may use Permission on Object.
type Request struct {
	// Subject is the process asking, as read from the kernel (never as
	// claimed by a client): pid and start time name it for polkit.
	Subject    proc.Process
	Object     acl.Object
	Permission acl.Permission
	// Action, when set, is a polkit action of the helper's own (under
	// HelperActionPrefix) asked instead of Permission's, with Object's
	// details: a question libvirt's actions cannot put, such as whether
	// a user may create a domain of their own (policy.ActionCreateOwn).
	// Permission still names the libvirt permission the action stands in
	// for, and the object must be of its type.
	Action string
	// Origin says where the request came from, for the audit record. It
	// is optional, and no part of the decision or of its cache key.
	Origin Origin
}

// Origin is the front end that asked for a decision and will enforce it,
// and the operation it guards.
type Origin struct {
	// FrontEnd names the front end, such as "libvirt-guard". Empty for a
	// process asking for itself over the helper's varlink interface.
	FrontEnd string
	// Operation is what the front end guards, in its own terms, such as
	// the libvirt procedure "DOMAIN_CREATE". Empty when the question is
	// all there is.
	Operation string
	// Requester is the process that asked on the subject's behalf (a
	// proxy), as the front end's identity checks read it; nil when the
	// subject asked about itself. The audit record names it, so that a
	// question a proxy vouched for can be told from one the subject
	// asked, with details it chose, about itself.
	Requester *proc.Process
	// Rule and Where name what in the client's content made the front
	// end refuse (Engine.Refuse): a rule of its content policy and the
	// element or attribute path it applies to. Empty otherwise.
	Rule, Where string
	// Listing marks a decision that filters what a list or an event
	// stream shows, not a request the subject made about the object.
	// The engine audits it when made afresh, not each time the cache
	// repeats it: a user listing 1,000 VMs every few seconds would
	// otherwise write 1,000 records each time, burying the requests
	// auditors look for. The front end audits each list as a whole.
	Listing bool
}

// Validate reports what makes r undecidable, wrapping ErrInvalid.
func (r Request) Validate() error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// HelperActionPrefix starts every action a Request may name in Action.
const HelperActionPrefix = "io.github.virt-acl-helper."

// ActionID returns the polkit action asked: Action, or Permission's.
func (r Request) ActionID() string {
	if r.Action != "" {
		return r.Action
	}
	return r.Permission.ActionID()
}

func (r Request) validate() error {
	switch {
	case r.Action != "" && (!strings.HasPrefix(r.Action, HelperActionPrefix) || len(r.Action) == len(HelperActionPrefix)):
		return fmt.Errorf("action %q is not one of the helper's (%s...)", r.Action, HelperActionPrefix)
	case r.Subject.PID <= 0:
		return fmt.Errorf("subject: invalid pid %d", r.Subject.PID)
	case r.Subject.StartTime == 0:
		return fmt.Errorf("subject: process %d has no start time", r.Subject.PID)
	case !r.Permission.Valid():
		return fmt.Errorf("no permission given")
	case !r.Object.Valid():
		return fmt.Errorf("no object given")
	case r.Permission.Object() != r.Object.Type():
		return fmt.Errorf("permission %s does not apply to %s objects", r.Permission, r.Object.Type())
	}
	return nil
}
