// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// Who is a user and the groups it is in.
type Who struct {
	User   string
	Groups []string
}

// matches reports whether s names w.
func (w Who) matches(s Subject) bool {
	if s.User != "" {
		return s.User == w.User
	}
	for _, g := range w.Groups {
		if g == s.Group {
			return true
		}
	}
	return false
}

// Request is one question: may Who use Perm on the object with UUID (empty
// for connect permissions)?
type Request struct {
	Who  Who
	Perm acl.Permission
	UUID string
}

// Explanation says why roles grant a request, or that none does.
type Explanation struct {
	Allowed bool
	Grant   *Grant // the first grant that allows it, in rule order
	Role    *Role
	// Fallback, when no grant allows: what polkit does next.
	Fallback string
}

func (e Explanation) String() string {
	if e.Allowed {
		return fmt.Sprintf("allowed by the grant at %s: role %s (%s) to %s on %s",
			e.Grant.Source, e.Role.Name, e.Role.Source, e.Grant.Subject, describeObject(e.Grant))
	}
	return "not granted by any role: " + e.Fallback
}

func describeObject(g *Grant) string {
	if g.Name != "" {
		return fmt.Sprintf("%s (%s)", g.Object, g.Name)
	}
	return g.Object.String()
}

// Explain answers req the way the rendered rule does, naming the grant
// that decides.
func (p *Policy) Explain(req Request) Explanation {
	for i := range p.Grants {
		g := &p.Grants[i]
		if grantAllows(p, g, req) {
			return Explanation{Allowed: true, Grant: g, Role: p.Roles[g.Role]}
		}
	}
	fb := "later polkit rules decide, else the action's default: deny"
	if req.Perm.Anonymous() {
		fb = "later polkit rules decide, else the action's default: allow (libvirt lets anyone " + req.Perm.Name() + ")"
	}
	return Explanation{Fallback: fb}
}

func grantAllows(p *Policy, g *Grant, req Request) bool {
	// A create grant allows only policy.ActionCreateOwn, no libvirt
	// permission: the role is what the creator gets on each new domain.
	if g.Creates() || !req.Who.matches(g.Subject) || !p.Roles[g.Role].Has(req.Perm) {
		return false
	}
	if req.Perm.Object() == acl.Connect {
		return true
	}
	return req.Perm.Object() == g.Object.Type && (g.Object.UUID == Any || g.Object.UUID == req.UUID)
}

// Entitlement is what one grant gives a user.
type Entitlement struct {
	Grant   Grant
	Connect []acl.Permission
	Object  []acl.Permission
}

// Show lists what who may do, grant by grant.
func (p *Policy) Show(who Who) []Entitlement {
	var out []Entitlement
	for _, g := range p.Grants {
		if !who.matches(g.Subject) {
			continue
		}
		r := p.Roles[g.Role]
		e := Entitlement{Grant: g, Connect: r.PermsOf(acl.Connect), Object: r.PermsOf(g.Object.Type)}
		if g.Creates() {
			e.Connect = nil // what the role gives comes with each domain created
		}
		out = append(out, e)
	}
	return out
}
