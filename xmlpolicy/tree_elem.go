// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"encoding/xml"
	"fmt"
	"strings"
)

func (p *parser) startElement(t xml.StartElement) *Violation {
	if p.root != nil && len(p.stack) == 0 {
		return parseErr("content after the root element")
	}
	p.elements++
	if p.elements > p.lim.maxElements {
		return &Violation{Path: "/", Rule: ruleLimits, Reason: fmt.Sprintf("more than max_elements %d elements", p.lim.maxElements)}
	}
	if len(p.stack) >= p.lim.maxDepth {
		return &Violation{Path: "/", Rule: ruleLimits, Reason: fmt.Sprintf("elements nested deeper than max_depth %d", p.lim.maxDepth)}
	}
	if strings.Contains(t.Name.Local, ":") || (t.Name.Space == "" && strings.HasPrefix(t.Name.Local, ":")) {
		return parseErr("element name %q is not a qualified name", t.Name.Space+":"+t.Name.Local)
	}
	scope, v := p.bindings(t)
	if v != nil {
		return v
	}
	n := &node{prefix: t.Name.Space, local: t.Name.Local, attrs: t.Attr, start: p.dec.InputOffset()}
	uri, ok := scope[n.prefix]
	if !ok && n.prefix != "" {
		return parseErr("element prefix %q is not bound to a namespace", n.prefix)
	}
	n.ns = uri
	if v := checkAttrNames(t.Attr, scope); v != nil {
		return v
	}
	if parent := p.top(); parent != nil {
		parent.children = append(parent.children, n)
	} else {
		p.root = n
	}
	p.stack = append(p.stack, n)
	p.scopes = append(p.scopes, scope)
	return nil
}

// bindings returns the namespace prefixes in scope inside t.
func (p *parser) bindings(t xml.StartElement) (map[string]string, *Violation) {
	outer := map[string]string{"xml": xmlNS}
	if len(p.scopes) > 0 {
		outer = p.scopes[len(p.scopes)-1]
	}
	scope, copied := outer, false
	for _, a := range t.Attr {
		prefix, decl := nsDecl(a.Name)
		if !decl {
			continue
		}
		if prefix == "xml" || prefix == "xmlns" || (prefix != "" && a.Value == "") {
			return nil, parseErr("namespace declaration %s=%q refused", attrName(a.Name), a.Value)
		}
		if !copied {
			copied = true
			scope = make(map[string]string, len(outer)+1)
			for k, v := range outer {
				scope[k] = v
			}
		}
		scope[prefix] = a.Value
	}
	return scope, nil
}

// nsDecl reports whether name declares a namespace, and its prefix.
func nsDecl(name xml.Name) (string, bool) {
	switch {
	case name.Space == "" && name.Local == "xmlns":
		return "", true
	case name.Space == "xmlns":
		return name.Local, true
	}
	return "", false
}

// checkAttrNames refuses attributes libxml2 would refuse or read under
// another name: duplicates (also through two prefixes of one namespace),
// unbound prefixes, names with more than one colon.
func checkAttrNames(attrs []xml.Attr, scope map[string]string) *Violation {
	seen := make(map[xml.Name]bool, len(attrs))
	for _, a := range attrs {
		if strings.Contains(a.Name.Local, ":") || a.Name.Local == "" {
			return parseErr("attribute name %q is not a qualified name", attrName(a.Name))
		}
		key := a.Name
		if _, decl := nsDecl(a.Name); !decl && a.Name.Space != "" {
			uri, ok := scope[a.Name.Space]
			if !ok {
				return parseErr("attribute prefix %q is not bound to a namespace", a.Name.Space)
			}
			key = xml.Name{Space: "{" + uri + "}", Local: a.Name.Local}
		}
		if seen[key] {
			return parseErr("attribute %s appears twice", attrName(a.Name))
		}
		seen[key] = true
	}
	return nil
}

func attrName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func (p *parser) endElement(t xml.EndElement) *Violation {
	n := p.top()
	if n == nil || n.prefix != t.Name.Space || n.local != t.Name.Local {
		return parseErr("end tag </%s> does not match its start tag", attrName(t.Name))
	}
	n.end = p.dec.InputOffset()
	p.stack = p.stack[:len(p.stack)-1]
	p.scopes = p.scopes[:len(p.scopes)-1]
	return nil
}
