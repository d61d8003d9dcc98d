// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/internal/xmldoc"
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
		path += root.Local
	}
	if root.NS != "" || (want.element != "" && root.Local != want.element) || p.elems[path] == nil {
		return Uses{}, []*Violation{{Path: "/" + root.QName(), Rule: ruleAllowlist, Reason: fmt.Sprintf("a %s document cannot have <%s> at its root", k, root.QName())}}
	}
	c := checker{p: p, max: max}
	c.element(root, p.elems[path], ruleAllowlist, 0)
	return c.uses, c.found
}

// checker walks one document.
type checker struct {
	p     *Policy
	uses  Uses
	max   int // stop after this many violations; 0: never
	found []*Violation
	at    []step // the path to the element being checked
}

// step is one element of a document path: its name and, among siblings
// of that name, its position (0: it has none).
type step struct {
	name  string
	index int
}

// path is the document path of the element being checked, with suffix
// ("/@type") appended; built only for a violation.
func (c *checker) path(suffix string) string {
	var b strings.Builder
	for _, s := range c.at {
		b.WriteByte('/')
		b.WriteString(s.name)
		if s.index > 0 {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		}
	}
	if b.Len() == 0 {
		b.WriteByte('/')
	}
	b.WriteString(suffix)
	return b.String()
}

// add records v and reports whether the walk should stop.
func (c *checker) add(v *Violation) bool {
	c.found = append(c.found, v)
	return c.max > 0 && len(c.found) >= c.max
}

// element checks n, at index among its same-named siblings, against er
// (nil: the policy does not name it); rule is the parent's rule, which
// answers for an element it does not allow. It reports whether the walk
// should stop.
func (c *checker) element(n *node, er *elemRule, parentRule string, index int) bool {
	c.at = append(c.at, step{n.QName(), index})
	defer func() { c.at = c.at[:len(c.at)-1] }()
	if n.NS != "" || n.Prefix != "" {
		return c.add(&Violation{Path: c.path(""), Rule: ruleNamespaces, Reason: fmt.Sprintf("element <%s> in namespace %q: only libvirt's own elements are allowed here", n.QName(), n.NS)})
	}
	if er == nil {
		return c.add(&Violation{Path: c.path(""), Rule: parentRule, Reason: fmt.Sprintf("element <%s> is not allowed here", n.Local)})
	}
	if er.target != nil {
		er = er.target
	}
	if er.opaque {
		return c.opaque(n, er)
	}
	if c.attrs(n, er) || c.text(n, er) {
		return true
	}
	for _, r := range er.require {
		if !r.holds(n) && c.add(&Violation{Path: c.path(""), Rule: er.rule, Reason: "requires " + r.src}) {
			return true
		}
	}
	return c.children(n, er)
}

func (c *checker) children(n *node, er *elemRule) bool {
	if er.maxChildren > 0 && len(n.Children) > er.maxChildren {
		if c.add(&Violation{Path: c.path(""), Rule: er.rule, Reason: fmt.Sprintf("%d child elements, more than max_children %d", len(n.Children), er.maxChildren)}) {
			return true
		}
	}
	for i, ch := range n.Children {
		before, after := siblings(n.Children, i)
		index := 0
		if before+after > 0 {
			index = before + 1
		}
		cr := er.kids[ch.Local]
		if c.element(ch, cr, er.rule, index) {
			return true
		}
		if cr != nil && cr.max > 0 && before == cr.max {
			c.at = append(c.at, step{ch.QName(), index})
			stop := c.add(&Violation{Path: c.path(""), Rule: cr.rule, Reason: fmt.Sprintf("more than max %d <%s> here", cr.max, ch.Local)})
			c.at = c.at[:len(c.at)-1]
			if stop {
				return true
			}
		}
	}
	return false
}

// siblings counts the elements named as children[i] before and after it.
// Quadratic, but children are bounded by max_elements and, where many
// are allowed, by max_children.
func siblings(children []*node, i int) (before, after int) {
	name := children[i].Local
	for j, ch := range children {
		if ch.Local == name && j != i {
			if j < i {
				before++
			} else {
				after++
			}
		}
	}
	return before, after
}

// attrs checks every attribute of n and records what it names.
func (c *checker) attrs(n *node, er *elemRule) bool {
	var pool, volume string
	for _, a := range n.Attrs {
		con, v := c.attr(n, er, a)
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
		return c.add(&Violation{Path: c.path(""), Rule: er.rule, Reason: "a volume needs both its pool and its name"})
	}
	c.uses.Volumes = append(c.uses.Volumes, Volume{Pool: pool, Name: volume})
	return false
}

// attr checks one attribute, returning its constraint or why it fails.
func (c *checker) attr(n *node, er *elemRule, a xml.Attr) (*constraint, *Violation) {
	aAt := "/@" + xmldoc.AttrName(a.Name)
	if xmldoc.IsNSDecl(a.Name) || a.Name.Space != "" {
		return nil, &Violation{Path: c.path(aAt), Rule: ruleNamespaces, Reason: "namespace declarations and namespaced attributes are allowed only inside opaque elements (metadata)"}
	}
	con := er.attrs[a.Name.Local]
	if con == nil {
		return nil, &Violation{Path: c.path(aAt), Rule: er.rule, Reason: fmt.Sprintf("attribute %s is not allowed on <%s>", a.Name.Local, n.Local)}
	}
	if xmldoc.AmbiguousAttr(a.Value) {
		return nil, &Violation{Path: c.path(aAt), Rule: ruleXML, Reason: "tab or line break in an attribute value (libxml2 normalises them, so the value is ambiguous)"}
	}
	unit, _ := n.Attr("unit")
	if why := con.check(c.p, a.Value, unit); why != "" {
		return nil, &Violation{Path: c.path(aAt), Rule: er.rule, Reason: why}
	}
	return con, nil
}

// text checks n's text. Text split by a comment is refused: readers
// differ on whether they see one piece or all.
func (c *checker) text(n *node, er *elemRule) bool {
	text := n.Text()
	switch {
	case er.text == nil && xmldoc.IsSpace([]byte(text)):
		return false
	case er.text == nil:
		return c.add(&Violation{Path: c.path(""), Rule: er.rule, Reason: fmt.Sprintf("<%s> takes no text", n.Local)})
	case n.Comment:
		return c.add(&Violation{Path: c.path(""), Rule: ruleXML, Reason: "a comment inside an element with text"})
	case text == "":
		return false
	}
	unit, _ := n.Attr("unit")
	if why := er.text.check(c.p, text, unit); why != "" {
		return c.add(&Violation{Path: c.path(""), Rule: er.rule, Reason: why})
	}
	return c.record(er.text.kind, text, er.rule)
}

// record notes the domain's name or UUID; a document naming two
// different ones (a snapshot's two embedded domains) is refused.
func (c *checker) record(k ckind, value, rule string) bool {
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
		return c.add(&Violation{Path: c.path(""), Rule: rule, Reason: fmt.Sprintf("names %q where the document already named %q", value, *dst)})
	}
	*dst = value
	return false
}

// opaque checks an element whose content libvirt keeps without reading
// (metadata): bounded, and never in one of libvirt's own namespaces,
// which a driver might read.
func (c *checker) opaque(n *node, er *elemRule) bool {
	if len(n.Attrs) > 0 {
		return c.add(&Violation{Path: c.path("/@" + xmldoc.AttrName(n.Attrs[0].Name)), Rule: er.rule, Reason: fmt.Sprintf("<%s> takes no attributes", n.Local)})
	}
	if size := n.End - n.Start; size > int64(c.p.lim.maxOpaqueBytes) {
		return c.add(&Violation{Path: c.path(""), Rule: ruleLimits, Reason: fmt.Sprintf("%d bytes, more than max_opaque_bytes %d", size, c.p.lim.maxOpaqueBytes)})
	}
	if v := libvirtNamespace(n, c.path(""), er.rule); v != nil {
		return c.add(v)
	}
	return false
}

func libvirtNamespace(n *node, at, rule string) *Violation {
	for _, a := range n.Attrs {
		if strings.HasPrefix(a.Value, libvirtSchemas) {
			return &Violation{Path: at + "/@" + xmldoc.AttrName(a.Name), Rule: rule, Reason: "libvirt's own namespaces are not allowed in opaque content"}
		}
	}
	for _, ch := range n.Children {
		chAt := at + "/" + ch.QName()
		if strings.HasPrefix(ch.NS, libvirtSchemas) {
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
