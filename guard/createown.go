// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	pkpolicy "github.com/virt-acl-helper/virt-acl-helper/policy"
	"github.com/virt-acl-helper/virt-acl-helper/roles"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// Users who create their own VMs (README): a definition of a domain that
// does not exist yet, by a caller who is not an admin, is allowed when
// the engine allows pkpolicy.ActionCreateOwn on it; after libvirtd has
// defined it, and before the client hears so, the creator is granted the
// role their create grant names on its UUID. Otherwise domain:write and
// save decide, as always.

const (
	ruleStaleGrant = "guard.stale-grant"
	ruleCreateOwn  = "guard.create-own"
)

// ownProcs are the calls create-own applies to: persistent definitions.
// A transient domain (DOMAIN_CREATE_XML) is not owned: it is gone at its
// first shutdown, leaving its grant behind for a later domain to find,
// and no undefine ever comes to clean up after it.
var ownProcs = map[procKey]bool{
	remote(proto.RemoteProcDomainDefineXML):      true,
	remote(proto.RemoteProcDomainDefineXMLFlags): true,
}

// ownTimeout bounds a create-own definition, recording its owner and
// undoing it: it runs on after the client hangs up, so that no domain is left defined
// without its owner recorded unless undefining it failed too.
const ownTimeout = 30 * time.Second

// undefineNVRAM is VIR_DOMAIN_UNDEFINE_NVRAM: a new domain's NVRAM file
// goes with it.
const undefineNVRAM = 1 << 2

// errNoOwner answers a definition whose creator could not be recorded.
var errNoOwner = errors.New("the new domain's owner could not be recorded")

// ownIntent is a definition create-own allowed: its creator and the role
// they get on the domain libvirtd defines.
type ownIntent struct {
	user, role string
	uses       xmlpolicy.Uses // the document's name and UUID ("" if none)
}

// checkNew decides a definition of a domain whose name and UUID belong to
// no domain; dom is that domain as the guard read it (sameIdentity). A
// UUID with grants to anyone else is refused: the new domain would hand
// them access, or inherit theirs (a removed domain's grants outlive it).
// Then, for the calls create-own applies to, the engine is
// asked; an allow makes the call the creator's (c.own), and libvirt's
// own permissions are not asked.
func (c *checker) checkNew(ctx context.Context, origin access.Origin, p procKey, uses xmlpolicy.Uses, dom acl.Object) *frame.ErrorBody {
	o := c.content.owners
	if o == nil {
		return nil
	}
	who, err := whoIs(c.subject.UID)
	if err != nil {
		return c.refuse(ctx, origin, aclNone, objNone, err)
	}
	pol, err := o.Load()
	if err != nil {
		return c.refuse(ctx, origin, aclNone, objNone, fmt.Errorf("roles: %w", err))
	}
	if uses.UUID != "" {
		if gs := pol.Strangers(uses.UUID, who.User); len(gs) > 0 {
			return c.refuseContent(ctx, origin, &xmlpolicy.Violation{Rule: ruleStaleGrant, Path: "/domain/uuid",
				Reason: fmt.Sprintf("uuid %s is granted to others (%s: %s): a new domain may not take over their access; an admin revokes it first",
					uses.UUID, gs[0].Source, gs[0])})
		}
	}
	if !ownProcs[p] {
		return nil
	}
	d, err := c.engine.Check(ctx, access.Request{Subject: c.subject, Object: dom, Permission: c.content.perms.write,
		Action: pkpolicy.ActionCreateOwn, Origin: origin})
	if err != nil {
		return c.refuse(ctx, origin, c.content.perms.write, dom, err)
	}
	if !d.Allowed {
		return nil // domain:write and save decide
	}
	g, ok := pol.Creator(who)
	if !ok {
		return c.refuseContent(ctx, origin, &xmlpolicy.Violation{Rule: ruleCreateOwn, Path: "/domain",
			Reason: `polkit allows you to create domains of your own, but no roles create grant (domain = "new") names the role you would own them with`})
	}
	c.own = &ownIntent{user: who.User, role: g.Role, uses: uses}
	return nil
}

// whoIs names uid and its groups as polkit sees them.
func whoIs(uid uint32) (roles.Who, error) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return roles.Who{}, fmt.Errorf("the caller's account: %w", err)
	}
	groups, err := roles.GroupsOf(u.Username)
	if err != nil {
		return roles.Who{}, fmt.Errorf("the caller's groups: %w", err)
	}
	return roles.Who{User: u.Username, Groups: groups}, nil
}

// recordOwner grants the creator their role on the domain libvirtd
// defined. When that fails the domain is undefined again (on
// c.objects.up, which must be writable) and the client gets an error: no
// domain is left that nobody owns, and none that its creator owns without
// a record of it.
func (c *checker) recordOwner(ctx context.Context, origin access.Origin, dom proto.RemoteNonnullDomain) *frame.ErrorBody {
	uuid := uuidString(dom.UUID)
	if _, err := c.content.owners.Own(ctx, c.own.user, c.own.role, uuid, dom.Name); err != nil {
		// The definition's time may be what ran out: the undo and its
		// refusal get time of their own, or the domain would stay
		// defined with no owner.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ownTimeout)
		defer cancel()
		undo := c.objects.up.call(ctx, proto.RemoteProcDomainUndefineFlags,
			&proto.RemoteDomainUndefineFlagsArgs{Dom: dom, Flags: undefineNVRAM}, nil)
		what := "it was undefined again"
		if undo != nil {
			what = fmt.Sprintf("undefining it failed too (%v): an admin must remove domain %s %q", undo, uuid, dom.Name)
			c.log.Error("guard: a domain is defined without its owner recorded", "uuid", uuid, "name", dom.Name,
				"owner", c.own.user, "err", err, "undefine", undo)
		}
		cause := fmt.Errorf("%w, so %s: %v", errNoOwner, what, err)
		return c.refuse(ctx, origin, c.content.perms.write, objNone, cause)
	}
	return nil
}
