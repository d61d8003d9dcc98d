// SPDX-License-Identifier: Apache-2.0

package xmldoc

import (
	"encoding/xml"
	"strings"
)

// QName is the element's name as written, with its prefix.
func (e *Element) QName() string { return qname(e.Prefix, e.Local) }

func qname(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

// AttrName is an attribute's name as written, with its prefix.
func AttrName(n xml.Name) string { return qname(n.Space, n.Local) }

// Text is the element's own text, all its pieces joined, and that of its
// descendants past Limits.Keep.
func (e *Element) Text() string { return e.text.String() }

// Child is the first child element called name in no namespace, as
// libvirt's XPath ("./name[1]") finds it, or nil.
func (e *Element) Child(name string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.NS == "" && c.Local == name {
			return c
		}
	}
	return nil
}

// Attr is the value of the attribute called name in no namespace, as
// libvirt's XPath ("./@name") finds it.
func (e *Element) Attr(name string) (string, bool) {
	if e == nil {
		return "", false
	}
	for _, a := range e.Attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// Value is the element's XPath string-value, as libvirt's
// string(./name) reads it: all the text inside it, its descendants'
// too, in document order; cut after limit bytes.
func (e *Element) Value(limit int) string {
	var b strings.Builder
	e.value(&b, limit)
	return b.String()
}

func (e *Element) value(b *strings.Builder, limit int) {
	text, at := e.text.String(), 0
	for _, c := range e.Children {
		if b.Len() >= limit {
			return
		}
		writeUpTo(b, text[at:c.textAt], limit)
		at = c.textAt
		c.value(b, limit)
	}
	writeUpTo(b, text[at:], limit)
}

func writeUpTo(b *strings.Builder, s string, limit int) {
	if room := limit - b.Len(); room < len(s) {
		s = s[:max(room, 0)]
	}
	b.WriteString(s)
}

// AmbiguousAttr reports whether an attribute value reads two ways: a
// tab or line break in it may have been written as one, which libxml2
// turns into a space (attribute-value normalisation), or as a character
// reference (&#9;), which it keeps; encoding/xml gives both alike.
func AmbiguousAttr(value string) bool { return strings.ContainsAny(value, "\t\n\r") }
