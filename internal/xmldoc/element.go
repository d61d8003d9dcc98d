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
		return notWellFormed("Extra content at the end of the document")
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
	undo, err := r.ns.declare(t)
	r.stack = append(r.stack, open{prefix: t.Name.Space, local: t.Name.Local, undo: undo})
	if err != nil {
		return err
	}
	uri, ok := r.ns.bound[t.Name.Space]
	if !ok && t.Name.Space != "" {
		return refused("element prefix %q is not bound to a namespace", t.Name.Space)
	}
	if err := checkAttrNames(t.Attr, r.ns.bound); err != nil {
		return err
	}
	o := &r.stack[len(r.stack)-1]
	if r.lim.Keep == 0 || depth < r.lim.Keep {
		el := &Element{Prefix: t.Name.Space, Local: t.Name.Local, NS: uri, Attrs: t.Attr, Start: r.dec.InputOffset()}
		r.adopt(el)
		o.el = el
	}
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
	r.ns.end(r.stack[n-1].undo)
	r.stack = r.stack[:n-1]
	return nil
}
