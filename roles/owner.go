// SPDX-License-Identifier: Apache-2.0

package roles

import "github.com/virt-acl-helper/virt-acl-helper/acl"

// Creator returns the first create grant (domain = "new") that names who,
// in file order: its role is what who gets on each domain they create.
func (p *Policy) Creator(who Who) (Grant, bool) {
	for _, g := range p.Grants {
		if g.Creates() && who.matches(g.Subject) {
			return g, true
		}
	}
	return Grant{}, false
}

// GrantsOn returns the grants on the object of type t with this UUID
// itself: not those on every object (Any) or on new ones (New).
func (p *Policy) GrantsOn(t acl.ObjectType, uuid string) []Grant {
	var out []Grant
	for _, g := range p.Grants {
		if g.Object.Type == t && g.Object.UUID == uuid {
			out = append(out, g)
		}
	}
	return out
}

// Strangers returns the grants on the domain with this UUID to anyone but
// user: a group grant counts, since it reaches others too. A new domain
// defined with such a UUID would hand them access (README "Users who
// create their own VMs").
func (p *Policy) Strangers(uuid, user string) []Grant {
	var out []Grant
	for _, g := range p.GrantsOn(acl.Domain, uuid) {
		if g.Subject.User != user {
			out = append(out, g)
		}
	}
	return out
}
