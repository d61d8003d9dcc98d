// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// errNoDomain is libvirt's VIR_ERR_NO_DOMAIN: a lookup found nothing.
const errNoDomain = 42

// checkUses decides the volumes and networks a document names: a guest
// may use only what its author may.
func (c *checker) checkUses(ctx context.Context, origin access.Origin, uses xmlpolicy.Uses) *frame.ErrorBody {
	for _, v := range uses.Volumes {
		obj, err := c.objects.identifyArgs(ctx, c.content.perms.volume[0],
			&proto.RemoteStorageVolGetInfoArgs{Vol: proto.RemoteNonnullStorageVol{Pool: v.Pool, Name: v.Name}})
		if eb := c.objectError(ctx, origin, c.content.perms.volume[0], err); eb != nil {
			return eb
		}
		for _, perm := range c.content.perms.volume {
			if eb := c.check(ctx, origin, perm, obj); eb != nil {
				return eb
			}
		}
	}
	for _, n := range uses.Networks {
		obj, err := c.objects.portOn(ctx, n)
		if eb := c.objectError(ctx, origin, c.content.perms.network, err); eb != nil {
			return eb
		}
		if eb := c.check(ctx, origin, c.content.perms.network, obj); eb != nil {
			return eb
		}
	}
	return nil
}

// checkIdentity refuses a definition that takes the UUID of a domain of
// another name, or the name of a domain of another UUID. libvirt refuses
// both too ("already defined with uuid", "already exists with uuid");
// the guard says so first, naming the element, and audits it. A
// definition of the same name and UUID redefines that domain, which the
// permissions already decided on that very object. isNew reports that
// neither the name nor the UUID belongs to a domain.
func (c *checker) checkIdentity(ctx context.Context, origin access.Origin, uses xmlpolicy.Uses) (isNew bool, eb *frame.ErrorBody) {
	byUUID := false
	if uses.UUID != "" {
		u, err := parseUUID(uses.UUID)
		if err != nil {
			return false, c.refuseContent(ctx, origin, &xmlpolicy.Violation{Rule: ruleIdentity, Path: "/domain/uuid", Reason: err.Error()})
		}
		var r proto.RemoteDomainLookupByUUIDRet
		found, err := c.lookupDomain(ctx, proto.RemoteProcDomainLookupByUUID, &proto.RemoteDomainLookupByUUIDArgs{UUID: u}, &r)
		if err != nil {
			return false, c.refuse(ctx, origin, aclNone, objNone, err)
		}
		if found && r.Dom.Name != uses.Name {
			return false, c.refuseContent(ctx, origin, &xmlpolicy.Violation{Rule: ruleIdentity, Path: "/domain/uuid",
				Reason: fmt.Sprintf("uuid %s belongs to the domain %q; a definition may not take another domain's UUID", uses.UUID, r.Dom.Name)})
		}
		byUUID = found
	}
	var r proto.RemoteDomainLookupByNameRet
	found, err := c.lookupDomain(ctx, proto.RemoteProcDomainLookupByName, &proto.RemoteDomainLookupByNameArgs{Name: uses.Name}, &r)
	if err != nil {
		return false, c.refuse(ctx, origin, aclNone, objNone, err)
	}
	if found && uuidString(r.Dom.UUID) != uses.UUID {
		return false, c.refuseContent(ctx, origin, &xmlpolicy.Violation{Rule: ruleIdentity, Path: "/domain/name",
			Reason: fmt.Sprintf("a domain named %q exists with uuid %s; a definition may not take another domain's name", uses.Name, uuidString(r.Dom.UUID))})
	}
	return !byUUID && !found, nil
}

// sameIdentity makes sure the guard's permissions are decided on the
// name and UUID the policy read: the guard reads them again from the
// document (definexml.go) for the permission check, with the same reader
// (internal/xmldoc) but its own code picking them out, and the two must
// not disagree on what it defines. It returns the
// domain the guard read, with a fresh UUID when the document has none:
// the caller decides on that very object.
func (c *checker) sameIdentity(ctx context.Context, origin access.Origin, doc string, uses xmlpolicy.Uses) (acl.Object, *frame.ErrorBody) {
	obj, err := c.objects.fromXML(acl.Domain, doc)
	if err != nil {
		return acl.Object{}, c.refuse(ctx, origin, aclNone, objNone, err)
	}
	if obj.Name() != uses.Name || (uses.UUID != "" && obj.UUID() != uses.UUID) {
		return acl.Object{}, c.refuseContent(ctx, origin, &xmlpolicy.Violation{Rule: ruleIdentity, Path: "/domain",
			Reason: fmt.Sprintf("the document's name and uuid read two ways: %q %s and %q %s", uses.Name, uses.UUID, obj.Name(), obj.UUID())})
	}
	return obj, nil
}

// lookupDomain looks a domain up; not finding it is no error.
func (c *checker) lookupDomain(ctx context.Context, proc proto.RemoteProcedure, args, ret proto.Message) (bool, error) {
	err := c.objects.up.call(ctx, proc, args, ret)
	if libvirtdSays(err, errNoDomain) {
		return false, nil
	}
	return err == nil, err
}

// portOn identifies the port a guest would get on the network named
// name: the network as libvirtd reports it, and a fresh port UUID (libvirt
// makes one when the guest starts), as for a definition without a UUID.
func (o *objects) portOn(ctx context.Context, name string) (acl.Object, error) {
	var n proto.RemoteNetworkLookupByNameRet
	if err := o.up.call(ctx, proto.RemoteProcNetworkLookupByName, &proto.RemoteNetworkLookupByNameArgs{Name: name}, &n); err != nil {
		return acl.Object{}, err
	}
	return o.object(acl.NetworkPort, map[string]string{"network_name": n.Net.Name,
		"network_uuid": uuidString(n.Net.UUID), "port_uuid": randomUUID()})
}
