// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/roles"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// contentGate is what the XML content policy needs for a call: the
// policy in force (nil: none), the calls it gates and the permissions it
// decides with.
type contentGate struct {
	policy         *xmlpolicy.Policy
	allowHostPaths bool
	calls          map[procKey]xmlCall
	perms          contentPerms
	rootIsAdmin    func(uid uint32) bool
	// owners records who owns the domains users create (createown.go);
	// nil: nobody creates domains of their own.
	owners *roles.Owners
}

// contentPerms are the permissions the gate asks the engine about.
type contentPerms struct {
	// admin makes a caller an admin, whom the content policy does not
	// filter: connect:write, which in libvirt's own model already lets
	// its holder act as any user (CONNECT_SET_IDENTITY) and read host
	// files (CONNECT_DOMAIN_XML_TO_NATIVE). README "How the guard
	// enforces the XML policy" argues it.
	admin acl.Permission
	// volume are needed on each volume a definition names: a guest
	// reads and writes its disk's data, what vol-download and vol-upload
	// need.
	volume []acl.Permission
	// network is needed on each network a definition names: libvirt
	// creates a port on it for the guest (networkPortCreateXML) when it
	// starts.
	network acl.Permission
	// write is the permission create-own stands in for (domain:write,
	// which a definition needs): its object's type and its audit name.
	write acl.Permission
}

func newContentPerms() (contentPerms, error) {
	var ps contentPerms
	var err error
	parse := func(t acl.ObjectType, name string) acl.Permission {
		p, perr := acl.ParsePermission(t, name)
		err = errors.Join(err, perr)
		return p
	}
	ps.admin = parse(acl.Connect, "write")
	ps.volume = []acl.Permission{parse(acl.StorageVol, "data_read"), parse(acl.StorageVol, "data_write")}
	ps.network = parse(acl.NetworkPort, "create")
	ps.write = parse(acl.Domain, "write")
	return ps, err
}

// checkContent applies the content policy to a call, before its
// permissions are decided. Callers who are admins pass unfiltered.
func (c *checker) checkContent(ctx context.Context, p *proto.Procedure, args proto.Message) *frame.ErrorBody {
	g := c.content
	if g == nil || g.policy == nil {
		return nil
	}
	call, ok := g.calls[keyOf(p)]
	if !ok || call.harmless != "" {
		return nil
	}
	origin := originOf(p)
	admin, eb := c.isAdmin(ctx, origin)
	if eb != nil || admin {
		return eb
	}
	if r := g.screen(call, args); r != nil {
		return c.refuseContent(ctx, origin, r)
	}
	if call.docs == nil {
		return nil // a host path call, allowed by allow_host_path_calls
	}
	docs, err := call.docs(args)
	if err != nil {
		return c.refuseContent(ctx, origin, &xmlpolicy.Violation{Rule: ruleMalformedParam, Path: p.Name(), Reason: err.Error()})
	}
	return c.checkDocs(ctx, origin, keyOf(p), call, docs)
}

// checkDocs checks each document with the policy, then what it names.
func (c *checker) checkDocs(ctx context.Context, origin access.Origin, p procKey, call xmlCall, docs []xmlDoc) *frame.ErrorBody {
	for _, d := range docs {
		uses, err := c.content.policy.Check(d.kind, []byte(d.text))
		if err != nil {
			return c.refuseContent(ctx, origin, violation(d, err))
		}
		if call.defines {
			if eb := c.checkDefined(ctx, origin, p, d, uses); eb != nil {
				return eb
			}
		}
		if !call.detaches {
			if eb := c.checkUses(ctx, origin, uses); eb != nil {
				return eb
			}
		}
	}
	return nil
}

// checkDefined checks the domain a definition names: read the same two
// ways, not another domain's name or UUID, and, if it is new, allowed to
// its creator (checkNew). The domain sameIdentity read is the one
// checkNew decides on and, kept, the one the call's domain permissions
// are decided on (checkCall): every record of the call names one UUID,
// fresh or not.
func (c *checker) checkDefined(ctx context.Context, origin access.Origin, p procKey, d xmlDoc, uses xmlpolicy.Uses) *frame.ErrorBody {
	dom, eb := c.sameIdentity(ctx, origin, d.text, uses)
	if eb != nil {
		return eb
	}
	c.objects.keep(dom)
	isNew, eb := c.checkIdentity(ctx, origin, uses)
	if eb != nil || !isNew {
		return eb
	}
	return c.checkNew(ctx, origin, p, uses, dom)
}

// screen refuses what the call does regardless of its documents.
func (g *contentGate) screen(call xmlCall, args proto.Message) *xmlpolicy.Violation {
	if call.refuse != nil {
		if rule, reason := call.refuse(args); rule != "" {
			return &xmlpolicy.Violation{Rule: rule, Path: "(call)", Reason: reason}
		}
	}
	if call.hostPath != nil && !g.allowHostPaths {
		if arg := call.hostPath(args); arg != "" {
			return &xmlpolicy.Violation{Rule: ruleHostPath, Path: arg,
				Reason: "libvirtd would open this host path as root for you; such calls are for admins (allow_host_path_calls)"}
		}
	}
	return nil
}

// violation returns the policy's refusal; an error that is none names
// the argument the document came in.
func violation(d xmlDoc, err error) *xmlpolicy.Violation {
	var v *xmlpolicy.Violation
	if errors.As(err, &v) {
		return v
	}
	// Not a violation (the policy could not decide): refused all the same.
	return &xmlpolicy.Violation{Rule: "xml-policy", Path: d.arg, Reason: err.Error()}
}

// isAdmin asks the engine whether the caller holds c.content.perms.admin on
// the connection: cached and audited like any decision. Root always is.
func (c *checker) isAdmin(ctx context.Context, origin access.Origin) (bool, *frame.ErrorBody) {
	if c.content.rootIsAdmin(c.subject.UID) {
		return true, nil
	}
	obj, err := c.objects.object(acl.Connect, nil)
	if err != nil {
		return false, c.refuse(ctx, origin, c.content.perms.admin, acl.Object{}, err)
	}
	d, err := c.engine.Check(ctx, access.Request{Subject: c.subject, Object: obj, Permission: c.content.perms.admin, Origin: origin})
	if err != nil {
		return false, c.refuse(ctx, origin, c.content.perms.admin, obj, err)
	}
	return d.Allowed, nil
}

// refuseContent refuses a call for its content: audited with the rule
// and path (content_rule=, content_path=), answered with libvirt's
// access-denied error naming both.
func (c *checker) refuseContent(ctx context.Context, origin access.Origin, r *xmlpolicy.Violation) *frame.ErrorBody {
	origin.Rule, origin.Where = r.Rule, r.Path
	c.engine.Refuse(ctx, access.Request{Subject: c.subject, Origin: origin}, r)
	c.warn("call refused by the XML content policy", origin, r)
	return denied(fmt.Sprintf("'%s' refused %s: XML content policy: %v", FrontEnd, origin.Operation, r))
}
