// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// roots is the element each kind's document must have at its root, and
// the policy path it is checked as.
var roots = [...]struct{ element, path string }{
	Domain:        {"domain", "domain"},
	Device:        {"", "domain/devices/"}, // any device: its own name ends the path
	Snapshot:      {"domainsnapshot", "domainsnapshot"},
	Backup:        {"domainbackup", "domainbackup"},
	Checkpoint:    {"domaincheckpoint", "domaincheckpoint"},
	BlockCopyDest: {"disk", "domain/devices/disk"},
}

// Check checks doc, a document of kind k, against the policy. A nil error
// means it passes; otherwise the error is a *Violation, the first found.
func (p *Policy) Check(k Kind, doc []byte) (Uses, error) {
	uses, vs := p.check(k, doc, 1)
	if len(vs) > 0 {
		return Uses{}, vs[0]
	}
	return uses, nil
}

// CheckAll is Check reporting every violation it finds (a document that
// does not parse has one), for people fixing a definition. Uses is
// complete only when there are none.
func (p *Policy) CheckAll(k Kind, doc []byte) (Uses, []*Violation) {
	return p.check(k, doc, 0)
}

// check stops after max violations (0: never).
func (p *Policy) check(k Kind, doc []byte, max int) (Uses, []*Violation) {
	if k < 0 || int(k) >= len(roots) {
		return Uses{}, []*Violation{{Path: "/", Rule: ruleAllowlist, Reason: fmt.Sprintf("unknown document kind %d", int(k))}}
	}
	root, v := parse(doc, p.lim)
	if v != nil {
		return Uses{}, []*Violation{v}
	}
	want := roots[k]
	path := want.path
	if want.element == "" {
		path += root.local
	}
	if root.ns != "" || (want.element != "" && root.local != want.element) || p.elems[path] == nil {
		return Uses{}, []*Violation{{Path: "/" + qname(root), Rule: ruleAllowlist, Reason: fmt.Sprintf("a %s document cannot have <%s> at its root", k, qname(root))}}
	}
	c := checker{p: p, max: max}
	c.element(root, path, "/"+root.local, ruleAllowlist)
	return c.uses, c.found
}

func qname(n *node) string {
	if n.prefix == "" {
		return n.local
	}
	return n.prefix + ":" + n.local
}

// checker walks one document.
type checker struct {
	p     *Policy
	uses  Uses
	max   int // stop after this many violations; 0: never
	found []*Violation
}

// add records v and reports whether the walk should stop.
func (c *checker) add(v *Violation) bool {
	c.found = append(c.found, v)
	return c.max > 0 && len(c.found) >= c.max
}

// element checks n, found at policy path key and document path at; rule
// is the parent's rule, which answers for an element it does not allow.
// It reports whether the walk should stop.
func (c *checker) element(n *node, key, at, parentRule string) bool {
	if n.ns != "" || n.prefix != "" {
		return c.add(&Violation{Path: at, Rule: ruleNamespaces, Reason: fmt.Sprintf("element <%s> in namespace %q: only libvirt's own elements are allowed here", qname(n), n.ns)})
	}
	er := c.p.elems[key]
	if er == nil {
		return c.add(&Violation{Path: at, Rule: parentRule, Reason: fmt.Sprintf("element <%s> is not allowed here", n.local)})
	}
	if er.sameAs != "" {
		key, er = er.sameAs, c.p.elems[er.sameAs]
	}
	if er.opaque {
		return c.opaque(n, er, at)
	}
	if c.attrs(n, er, at) || c.text(n, er, at) {
		return true
	}
	for _, r := range er.require {
		if !r.holds(n) && c.add(&Violation{Path: at, Rule: er.rule, Reason: "requires " + r.src}) {
			return true
		}
	}
	return c.children(n, er, key, at)
}

func (c *checker) children(n *node, er *elemRule, key, at string) bool {
	if er.maxChildren > 0 && len(n.children) > er.maxChildren {
		if c.add(&Violation{Path: at, Rule: er.rule, Reason: fmt.Sprintf("%d child elements, more than max_children %d", len(n.children), er.maxChildren)}) {
			return true
		}
	}
	counts := make(map[string]int, len(n.children))
	for _, ch := range n.children {
		counts[ch.local]++
	}
	seen := make(map[string]int, len(counts))
	for _, ch := range n.children {
		seen[ch.local]++
		chAt := at + "/" + qname(ch)
		if counts[ch.local] > 1 {
			chAt += "[" + strconv.Itoa(seen[ch.local]) + "]"
		}
		if c.element(ch, key+"/"+ch.local, chAt, er.rule) {
			return true
		}
		if cr := c.p.elems[key+"/"+ch.local]; cr != nil && cr.max > 0 && seen[ch.local] == cr.max+1 {
			if c.add(&Violation{Path: chAt, Rule: cr.rule, Reason: fmt.Sprintf("more than max %d <%s> here", cr.max, ch.local)}) {
				return true
			}
		}
	}
	return false
}

// attrs checks every attribute of n and records what it names.
func (c *checker) attrs(n *node, er *elemRule, at string) bool {
	var pool, volume string
	for _, a := range n.attrs {
		con, v := c.attr(n, er, at, a)
		if v != nil {
			if c.add(v) {
				return true
			}
			continue
		}
		switch con.kind {
		case cPool:
			pool = a.Value
		case cVolume:
			volume = a.Value
		case cNetwork:
			c.uses.Networks = append(c.uses.Networks, a.Value)
		}
	}
	if pool == "" && volume == "" {
		return false
	}
	if pool == "" || volume == "" {
		return c.add(&Violation{Path: at, Rule: er.rule, Reason: "a volume needs both its pool and its name"})
	}
	c.uses.Volumes = append(c.uses.Volumes, Volume{Pool: pool, Name: volume})
	return false
}

// attr checks one attribute, returning its constraint or why it fails.
func (c *checker) attr(n *node, er *elemRule, at string, a xml.Attr) (*constraint, *Violation) {
	aAt := at + "/@" + attrName(a.Name)
	if _, decl := nsDecl(a.Name); decl || a.Name.Space != "" {
		return nil, &Violation{Path: aAt, Rule: ruleNamespaces, Reason: "namespace declarations and namespaced attributes are allowed only inside opaque elements (metadata)"}
	}
	con := er.attrs[a.Name.Local]
	if con == nil {
		return nil, &Violation{Path: aAt, Rule: er.rule, Reason: fmt.Sprintf("attribute %s is not allowed on <%s>", a.Name.Local, n.local)}
	}
	if strings.ContainsAny(a.Value, "\t\n\r") {
		return nil, &Violation{Path: aAt, Rule: ruleXML, Reason: "tab or line break in an attribute value (libxml2 normalises them, so the value is ambiguous)"}
	}
	unit, _ := attrValue(n, "unit")
	if why := con.check(c.p, a.Value, unit); why != "" {
		return nil, &Violation{Path: aAt, Rule: er.rule, Reason: why}
	}
	return con, nil
}

// text checks n's text. Text split by a comment is refused: readers
// differ on whether they see one piece or all.
func (c *checker) text(n *node, er *elemRule, at string) bool {
	text := n.text.String()
	switch {
	case er.text == nil && isSpace([]byte(text)):
		return false
	case er.text == nil:
		return c.add(&Violation{Path: at, Rule: er.rule, Reason: fmt.Sprintf("<%s> takes no text", n.local)})
	case n.comment:
		return c.add(&Violation{Path: at, Rule: ruleXML, Reason: "a comment inside an element with text"})
	case text == "":
		return false
	}
	unit, _ := attrValue(n, "unit")
	if why := er.text.check(c.p, text, unit); why != "" {
		return c.add(&Violation{Path: at, Rule: er.rule, Reason: why})
	}
	return c.record(er.text.kind, text, at, er.rule)
}

// record notes the domain's name or UUID; a document naming two
// different ones (a snapshot's two embedded domains) is refused.
func (c *checker) record(k ckind, value, at, rule string) bool {
	var dst *string
	switch k {
	case cDomainName:
		dst = &c.uses.Name
	case cDomainUUID:
		dst, value = &c.uses.UUID, strings.ToLower(value)
	default:
		return false
	}
	if *dst != "" && *dst != value {
		return c.add(&Violation{Path: at, Rule: rule, Reason: fmt.Sprintf("names %q where the document already named %q", value, *dst)})
	}
	*dst = value
	return false
}

// opaque checks an element whose content libvirt keeps without reading
// (metadata): bounded, and never in one of libvirt's own namespaces,
// which a driver might read.
func (c *checker) opaque(n *node, er *elemRule, at string) bool {
	if len(n.attrs) > 0 {
		return c.add(&Violation{Path: at + "/@" + attrName(n.attrs[0].Name), Rule: er.rule, Reason: fmt.Sprintf("<%s> takes no attributes", n.local)})
	}
	if size := n.end - n.start; size > int64(c.p.lim.maxOpaqueBytes) {
		return c.add(&Violation{Path: at, Rule: ruleLimits, Reason: fmt.Sprintf("%d bytes, more than max_opaque_bytes %d", size, c.p.lim.maxOpaqueBytes)})
	}
	if v := libvirtNamespace(n, at, er.rule); v != nil {
		return c.add(v)
	}
	return false
}

func libvirtNamespace(n *node, at, rule string) *Violation {
	for _, a := range n.attrs {
		if strings.HasPrefix(a.Value, libvirtSchemas) {
			return &Violation{Path: at + "/@" + attrName(a.Name), Rule: rule, Reason: "libvirt's own namespaces are not allowed in opaque content"}
		}
	}
	for _, ch := range n.children {
		chAt := at + "/" + qname(ch)
		if strings.HasPrefix(ch.ns, libvirtSchemas) {
			return &Violation{Path: chAt, Rule: rule, Reason: "libvirt's own namespaces are not allowed in opaque content"}
		}
		if v := libvirtNamespace(ch, chAt, rule); v != nil {
			return v
		}
	}
	return nil
}

// libvirtSchemas begins every namespace a libvirt driver reads.
const libvirtSchemas = "http://libvirt.org/schemas/"
