// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/internal/ratelimit"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// FrontEnd is the name audit records give the guard (access.Origin).
const FrontEnd = "guard"

// errQEMUCommand refuses the QEMU monitor and agent commands.
var errQEMUCommand = errors.New("QEMU monitor and agent commands are not allowed through the guard (allow_qemu_commands)")

// checker decides the calls of one client against one engine generation.
// A nil error body means allowed; anything else is the reply to send
// instead of forwarding (or instead of libvirtd's reply).
type checker struct {
	engine    *access.Engine
	subject   proc.Process
	objects   *objects
	allowQEMU bool
	content   *contentGate // nil: no content policy
	// own is set when create-own allowed this call (createown.go): the
	// domain's permissions are not asked, and its creator is recorded
	// once libvirtd has defined it.
	own   *ownIntent
	log   *slog.Logger
	limit *ratelimit.Limiter
}

// checkCall decides a call before it is forwarded: every @acl rule that
// applies must allow it on the object it names. Lookups are left to
// checkReply, since libvirt checks them on the object found.
func (c *checker) checkCall(ctx context.Context, p *proto.Procedure, args proto.Message) *frame.ErrorBody {
	origin := access.Origin{FrontEnd: FrontEnd, Operation: p.Name()}
	if qemuCommandProcs[keyOf(p)] && !c.allowQEMU {
		return c.refuse(ctx, origin, acl.Permission{}, acl.Object{}, errQEMUCommand)
	}
	if lookupProcs[keyOf(p)] {
		return nil
	}
	// The content policy's strict parser sees a document before anything
	// else in the guard reads it (definexml.go): what it refuses is never
	// parsed further.
	if eb := c.checkContent(ctx, p, args); eb != nil {
		return eb
	}
	for _, r := range p.Rules() {
		applies, err := r.Applies(args)
		if err != nil {
			return c.refuse(ctx, origin, r.Permission(), acl.Object{}, err)
		}
		if !applies || c.own != nil && r.Permission().Object() == acl.Domain {
			continue // create-own decided the new domain's permissions
		}
		obj, err := c.objects.fromArgs(ctx, r.Permission(), args)
		if eb := c.objectError(ctx, origin, r.Permission(), err); eb != nil {
			return eb
		}
		if eb := c.check(ctx, origin, r.Permission(), obj); eb != nil {
			return eb
		}
	}
	return nil
}

// checkReply decides a lookup on the object libvirtd returned in ret.
func (c *checker) checkReply(ctx context.Context, p *proto.Procedure, args, ret proto.Message) *frame.ErrorBody {
	origin := access.Origin{FrontEnd: FrontEnd, Operation: p.Name()}
	for _, r := range p.Rules() {
		applies, err := r.Applies(args)
		if err != nil {
			return c.refuse(ctx, origin, r.Permission(), acl.Object{}, err)
		}
		if !applies {
			continue
		}
		var obj acl.Object
		if r.Permission().Object() == acl.Connect {
			obj, err = c.objects.fromArgs(ctx, r.Permission(), args)
		} else {
			obj, err = c.objects.fromRet(ctx, r.Permission().Object(), ret)
		}
		if eb := c.objectError(ctx, origin, r.Permission(), err); eb != nil {
			return eb
		}
		if eb := c.check(ctx, origin, r.Permission(), obj); eb != nil {
			return eb
		}
	}
	return nil
}

// objectError turns a failure to identify an object into the reply: the
// error libvirtd answered the guard's lookup with (no such domain, ...),
// which is what libvirtd would answer the client; for a document libvirt
// refuses to parse, a refusal answered with libvirt's error for it;
// anything else is a refusal. Either way the call is not forwarded, and
// the refusal is audited.
func (c *checker) objectError(ctx context.Context, origin access.Origin, perm acl.Permission, err error) *frame.ErrorBody {
	if err == nil {
		return nil
	}
	var re *RemoteError
	if errors.As(err, &re) {
		c.engine.Refuse(ctx, access.Request{Subject: c.subject, Permission: perm, Origin: origin}, err)
		return re.Body
	}
	var de *docError
	if errors.As(err, &de) {
		c.audit(ctx, origin, perm, acl.Object{}, err)
		return de.body()
	}
	return c.refuse(ctx, origin, perm, acl.Object{}, err)
}

// check asks the engine; anything but an allow denies.
func (c *checker) check(ctx context.Context, origin access.Origin, perm acl.Permission, obj acl.Object) *frame.ErrorBody {
	d, err := c.engine.Check(ctx, access.Request{Subject: c.subject, Object: obj, Permission: perm, Origin: origin})
	if err != nil {
		// Not decided (an invalid request, or the client gone): refused,
		// and audited as such, like any other refusal.
		return c.refuse(ctx, origin, perm, obj, err)
	}
	if !d.Allowed {
		return denied(fmt.Sprintf("'%s' denied %s", FrontEnd, perm))
	}
	return nil
}

// refuse denies without asking the drivers, audits that, and logs it
// (rate-limited).
func (c *checker) refuse(ctx context.Context, origin access.Origin, perm acl.Permission, obj acl.Object, cause error) *frame.ErrorBody {
	c.audit(ctx, origin, perm, obj, cause)
	if errors.Is(cause, errListEntry) {
		return denied(fmt.Sprintf("'%s' refused %s: %v", FrontEnd, origin.Operation, errListEntry))
	}
	if errors.Is(cause, errQEMUCommand) || errors.Is(cause, errUnsupported) || errors.Is(cause, errNoOwner) {
		return denied(fmt.Sprintf("'%s' refused %s: %v", FrontEnd, origin.Operation, cause))
	}
	return denied(fmt.Sprintf("'%s' refused %s", FrontEnd, origin.Operation))
}

// audit records a refusal and logs it (rate-limited).
func (c *checker) audit(ctx context.Context, origin access.Origin, perm acl.Permission, obj acl.Object, cause error) {
	c.engine.Refuse(ctx, access.Request{Subject: c.subject, Permission: perm, Object: obj, Origin: origin}, cause)
	c.warn("call refused", origin, cause)
}

// warn logs a refusal (rate-limited); c.log, the session's, names the
// client's pid and uid.
func (c *checker) warn(msg string, origin access.Origin, err error) {
	if ok, held := c.limit.Allow(msg); ok {
		c.log.Warn("guard: "+msg, "operation", origin.Operation, "err", err, "suppressed", held)
	}
}
