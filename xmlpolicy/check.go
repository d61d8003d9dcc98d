// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"fmt"
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
// means it passes; otherwise the error is a *Violation.
func (p *Policy) Check(k Kind, doc []byte) (Uses, error) {
	if k < 0 || int(k) >= len(roots) {
		return Uses{}, &Violation{Path: "/", Rule: ruleAllowlist, Reason: fmt.Sprintf("unknown document kind %d", int(k))}
	}
	root, v := parse(doc, p.lim)
	if v != nil {
		return Uses{}, v
	}
	want := roots[k]
	path := want.path
	if want.element == "" {
		path += root.local
	}
	c := checker{p: p}
	if root.ns != "" || (want.element != "" && root.local != want.element) || p.elems[path] == nil {
		return Uses{}, &Violation{Path: "/" + qname(root), Rule: ruleAllowlist, Reason: fmt.Sprintf("a %s document cannot have <%s> at its root", k, qname(root))}
	}
	if v := c.element(root, path, "/"+root.local, ruleAllowlist); v != nil {
		return Uses{}, v
	}
	return c.uses, nil
}

func qname(n *node) string {
	if n.prefix == "" {
		return n.local
	}
	return n.prefix + ":" + n.local
}

// checker walks one document.
type checker struct {
	p    *Policy
	uses Uses
}

// element checks n, found at policy path key and document path at; rule
// is the parent's rule, which answers for an element it does not allow.
func (c *checker) element(n *node, key, at, parentRule string) *Violation {
	if n.ns != "" || n.prefix != "" {
		return &Violation{Path: at, Rule: ruleNamespaces, Reason: fmt.Sprintf("element <%s> in namespace %q: only libvirt's own elements are allowed here", qname(n), n.ns)}
	}
	er := c.p.elems[key]
	if er == nil {
		return &Violation{Path: at, Rule: parentRule, Reason: fmt.Sprintf("element <%s> is not allowed here", n.local)}
	}
	if er.sameAs != "" {
		key, er = er.sameAs, c.p.elems[er.sameAs]
	}
	if er.opaque {
		return c.opaque(n, er, at)
	}
	if v := c.attrs(n, er, at); v != nil {
		return v
	}
	if v := c.text(n, er, at); v != nil {
		return v
	}
	for _, r := range er.require {
		if !r.holds(n) {
			return &Violation{Path: at, Rule: er.rule, Reason: "requires " + r.src}
		}
	}
	return c.children(n, er, key, at)
}

func (c *checker) children(n *node, er *elemRule, key, at string) *Violation {
	if er.maxChildren > 0 && len(n.children) > er.maxChildren {
		return &Violation{Path: at, Rule: er.rule, Reason: fmt.Sprintf("%d child elements, more than max_children %d", len(n.children), er.maxChildren)}
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
			chAt += fmt.Sprintf("[%d]", seen[ch.local])
		}
		if v := c.element(ch, key+"/"+ch.local, chAt, er.rule); v != nil {
			return v
		}
		if cr := c.p.elems[key+"/"+ch.local]; cr != nil && cr.max > 0 && seen[ch.local] > cr.max {
			return &Violation{Path: chAt, Rule: cr.rule, Reason: fmt.Sprintf("more than max %d <%s> here", cr.max, ch.local)}
		}
	}
	return nil
}

// attrs checks every attribute of n and records what it names.
func (c *checker) attrs(n *node, er *elemRule, at string) *Violation {
	var pool, volume string
	for _, a := range n.attrs {
		aAt := at + "/@" + attrName(a.Name)
		if _, decl := nsDecl(a.Name); decl || a.Name.Space != "" {
			return &Violation{Path: aAt, Rule: ruleNamespaces, Reason: "namespace declarations and namespaced attributes are allowed only inside opaque elements (metadata)"}
		}
		con := er.attrs[a.Name.Local]
		if con == nil {
			return &Violation{Path: aAt, Rule: er.rule, Reason: fmt.Sprintf("attribute %s is not allowed on <%s>", a.Name.Local, n.local)}
		}
		if strings.ContainsAny(a.Value, "\t\n\r") {
			return &Violation{Path: aAt, Rule: ruleXML, Reason: "tab or line break in an attribute value (libxml2 normalises them, so the value is ambiguous)"}
		}
		unit, _ := attrValue(n, "unit")
		if why := con.check(c.p, a.Value, unit); why != "" {
			return &Violation{Path: aAt, Rule: er.rule, Reason: why}
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
	if pool != "" || volume != "" {
		if pool == "" || volume == "" {
			return &Violation{Path: at, Rule: er.rule, Reason: "a volume needs both its pool and its name"}
		}
		c.uses.Volumes = append(c.uses.Volumes, Volume{Pool: pool, Name: volume})
	}
	return nil
}

// text checks n's text. Text split by a comment is refused: readers
// differ on whether they see one piece or all.
func (c *checker) text(n *node, er *elemRule, at string) *Violation {
	text := n.text.String()
	if isSpace([]byte(text)) && er.text == nil {
		return nil
	}
	if er.text == nil {
		return &Violation{Path: at, Rule: er.rule, Reason: fmt.Sprintf("<%s> takes no text", n.local)}
	}
	if n.comment {
		return &Violation{Path: at, Rule: ruleXML, Reason: "a comment inside an element with text"}
	}
	if text == "" {
		return nil
	}
	unit, _ := attrValue(n, "unit")
	if why := er.text.check(c.p, text, unit); why != "" {
		return &Violation{Path: at, Rule: er.rule, Reason: why}
	}
	return c.record(er.text.kind, text, at, er.rule)
}

// record notes the domain's name or UUID; a document naming two
// different ones (a snapshot's two embedded domains) is refused.
func (c *checker) record(k ckind, value, at, rule string) *Violation {
	var dst *string
	switch k {
	case cDomainName:
		dst = &c.uses.Name
	case cDomainUUID:
		dst, value = &c.uses.UUID, strings.ToLower(value)
	default:
		return nil
	}
	if *dst != "" && *dst != value {
		return &Violation{Path: at, Rule: rule, Reason: fmt.Sprintf("names %q where the document already named %q", value, *dst)}
	}
	*dst = value
	return nil
}

// opaque checks an element whose content libvirt keeps without reading
// (metadata): bounded, and never in one of libvirt's own namespaces,
// which a driver might read.
func (c *checker) opaque(n *node, er *elemRule, at string) *Violation {
	if len(n.attrs) > 0 {
		return &Violation{Path: at + "/@" + attrName(n.attrs[0].Name), Rule: er.rule, Reason: fmt.Sprintf("<%s> takes no attributes", n.local)}
	}
	if size := n.end - n.start; size > int64(c.p.lim.maxOpaqueBytes) {
		return &Violation{Path: at, Rule: ruleLimits, Reason: fmt.Sprintf("%d bytes, more than max_opaque_bytes %d", size, c.p.lim.maxOpaqueBytes)}
	}
	return libvirtNamespace(n, at, er.rule)
}

func libvirtNamespace(n *node, at, rule string) *Violation {
	for _, a := range n.attrs {
		if strings.HasPrefix(a.Value, "http://libvirt.org/schemas/") {
			return &Violation{Path: at + "/@" + attrName(a.Name), Rule: rule, Reason: "libvirt's own namespaces are not allowed in opaque content"}
		}
	}
	for _, ch := range n.children {
		if strings.HasPrefix(ch.ns, "http://libvirt.org/schemas/") {
			return &Violation{Path: at + "/" + qname(ch), Rule: rule, Reason: "libvirt's own namespaces are not allowed in opaque content"}
		}
		if v := libvirtNamespace(ch, at+"/"+qname(ch), rule); v != nil {
			return v
		}
	}
	return nil
}
