// SPDX-License-Identifier: Apache-2.0

package xmldoc

import "encoding/xml"

// The namespaces the xml and xmlns prefixes are bound to by definition;
// no other prefix may be bound to them.
const (
	xmlNS   = "http://www.w3.org/XML/1998/namespace"
	xmlnsNS = "http://www.w3.org/2000/xmlns/"
)

// namespaces are the prefixes bound where the reader is: one map, kept up
// to date as elements open and close, each binding an element declares
// undone at its end. A declaration so costs the same wherever it is;
// copying the parent's bindings into each element that declared one cost
// declarations times elements (seconds for a crafted document of a few
// hundred kilobytes).
type namespaces struct {
	bound map[string]string
	undo  []binding // the bindings declarations replaced, innermost last
}

// binding is a prefix's binding before a declaration replaced it.
type binding struct {
	prefix, uri string
	had         bool
}

func newNamespaces() namespaces {
	return namespaces{bound: map[string]string{"xml": xmlNS}}
}

// declare binds the namespaces t declares and returns how many bindings
// its end must undo.
func (ns *namespaces) declare(t xml.StartElement) (int, *Error) {
	n := 0
	for _, a := range t.Attr {
		prefix, decl := nsDecl(a.Name)
		if !decl {
			continue
		}
		switch {
		case prefix == "xml" || prefix == "xmlns" || (prefix != "" && a.Value == ""):
			return n, refused("namespace declaration %s=%q refused", AttrName(a.Name), a.Value)
		case a.Value == xmlNS || a.Value == xmlnsNS:
			return n, refused("namespace declaration %s=%q refused: that namespace is the xml or xmlns prefix's", AttrName(a.Name), a.Value)
		}
		uri, had := ns.bound[prefix]
		ns.undo = append(ns.undo, binding{prefix: prefix, uri: uri, had: had})
		ns.bound[prefix] = a.Value
		n++
	}
	return n, nil
}

// end undoes the last n bindings, those of the element that ends.
func (ns *namespaces) end(n int) {
	for ; n > 0; n-- {
		b := ns.undo[len(ns.undo)-1]
		ns.undo = ns.undo[:len(ns.undo)-1]
		if b.had {
			ns.bound[b.prefix] = b.uri
		} else {
			delete(ns.bound, b.prefix)
		}
	}
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
