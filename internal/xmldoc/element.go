// SPDX-License-Identifier: Apache-2.0

package xmldoc

import (
	"encoding/xml"
	"strings"
)

// Element is one element as libxml2 would build it, with its namespace
// resolved.
type Element struct {
	Prefix, Local string
	NS            string     // namespace URI, "" for libvirt's own elements
	Attrs         []xml.Attr // as written: Name.Space is the prefix
	Children      []*Element
	Comment       bool  // a comment stood among this element's content
	Start, End    int64 // byte offsets after its start tag and its end tag
	text          strings.Builder
	textAt        int // the length of the parent's text when this element began
}

func (r *reader) start(t xml.StartElement) *Error {
	depth := len(r.stack)
	if r.root != nil && depth == 0 {
		return refused("Extra content at the end of the document")
	}
	r.elements++
	if r.elements > r.lim.MaxElements {
		return limitErr(LimitElements, r.lim.MaxElements, "more than %d elements", r.lim.MaxElements)
	}
	if depth >= r.lim.MaxDepth {
		return limitErr(LimitDepth, r.lim.MaxDepth, "elements nested deeper than %d", r.lim.MaxDepth)
	}
	if strings.Contains(t.Name.Local, ":") || (t.Name.Space == "" && strings.HasPrefix(t.Name.Local, ":")) {
		return refused("element name %q is not a qualified name", t.Name.Space+":"+t.Name.Local)
	}
	scope, err := r.bindings(t)
	if err != nil {
		return err
	}
	uri, ok := scope[t.Name.Space]
	if !ok && t.Name.Space != "" {
		return refused("element prefix %q is not bound to a namespace", t.Name.Space)
	}
	if err := checkAttrNames(t.Attr, scope); err != nil {
		return err
	}
	o := open{prefix: t.Name.Space, local: t.Name.Local, scope: scope}
	if r.lim.Keep == 0 || depth < r.lim.Keep {
		o.el = &Element{Prefix: t.Name.Space, Local: t.Name.Local, NS: uri, Attrs: t.Attr, Start: r.dec.InputOffset()}
		r.adopt(o.el)
	}
	r.stack = append(r.stack, o)
	return nil
}

// adopt makes e the root or the last child of its parent.
func (r *reader) adopt(e *Element) {
	parent := r.kept()
	if parent == nil {
		r.root = e
		return
	}
	e.textAt = parent.text.Len()
	parent.Children = append(parent.Children, e)
}

// bindings returns the namespace prefixes in scope inside t.
func (r *reader) bindings(t xml.StartElement) (map[string]string, *Error) {
	var outer map[string]string
	if n := len(r.stack); n > 0 {
		outer = r.stack[n-1].scope
	} else { // the root: only the xml prefix is bound
		outer = map[string]string{"xml": xmlNS}
	}
	scope, copied := outer, false
	for _, a := range t.Attr {
		prefix, decl := nsDecl(a.Name)
		if !decl {
			continue
		}
		if prefix == "xml" || prefix == "xmlns" || (prefix != "" && a.Value == "") {
			return nil, refused("namespace declaration %s=%q refused", AttrName(a.Name), a.Value)
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

// IsNSDecl reports whether an attribute so named declares a namespace.
func IsNSDecl(name xml.Name) bool {
	_, decl := nsDecl(name)
	return decl
}

// checkAttrNames refuses attributes libxml2 would refuse or read under
// another name: duplicates (also through two prefixes of one namespace),
// unbound prefixes, names with more than one colon.
func checkAttrNames(attrs []xml.Attr, scope map[string]string) *Error {
	seen := make(map[xml.Name]bool, len(attrs))
	for _, a := range attrs {
		if strings.Contains(a.Name.Local, ":") || a.Name.Local == "" {
			return refused("attribute name %q is not a qualified name", AttrName(a.Name))
		}
		key := a.Name
		if _, decl := nsDecl(a.Name); !decl && a.Name.Space != "" {
			uri, ok := scope[a.Name.Space]
			if !ok {
				return refused("attribute prefix %q is not bound to a namespace", a.Name.Space)
			}
			key = xml.Name{Space: "{" + uri + "}", Local: a.Name.Local}
		}
		if seen[key] {
			return refused("Attribute %s redefined", AttrName(a.Name))
		}
		seen[key] = true
	}
	return nil
}

func (r *reader) end(t xml.EndElement) *Error {
	n := len(r.stack)
	if n == 0 || r.stack[n-1].prefix != t.Name.Space || r.stack[n-1].local != t.Name.Local {
		return &Error{Kind: Malformed, Msg: "end tag </" + AttrName(t.Name) + "> does not match its start tag"}
	}
	if e := r.stack[n-1].el; e != nil {
		e.End = r.dec.InputOffset()
	}
	r.stack = r.stack[:n-1]
	return nil
}
