// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// xmlMaxDepth is how deep readXML keeps elements: the root, its
// children and theirs (a secret's <usage><volume>). Deeper content is
// read and dropped.
const xmlMaxDepth = 3

// xmlRefuseDepth bounds the nesting readXML reads at all: libxml2, which
// parses libvirt's XML, refuses documents nested deeper than 256 without
// XML_PARSE_HUGE, so nothing libvirt accepts is refused here.
const xmlRefuseDepth = 256

// xmlElem is an element of an object's XML as libvirt's XPath
// expressions ("string(./name[1])", "./usage/@type") see it: attributes
// and children without a namespace, and the element's own text.
type xmlElem struct {
	name  string
	attrs map[string]string
	text  strings.Builder
	kids  []*xmlElem
}

// child returns the first child element called name, or nil.
func (e *xmlElem) child(name string) *xmlElem {
	if e == nil {
		return nil
	}
	for _, k := range e.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// childText returns the text of the first child called name.
func (e *xmlElem) childText(name string) (string, bool) {
	c := e.child(name)
	if c == nil {
		return "", false
	}
	return c.text.String(), true
}

// readXML reads doc, whose root element must be called root, keeping the
// first xmlMaxDepth levels. Elements in a namespace are dropped with
// their content: libvirt's expressions name no namespace.
func readXML(doc, root string) (*xmlElem, error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	var stack []*xmlElem // nil entries: dropped elements
	var top *xmlElem
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var parent *xmlElem
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			if len(stack) >= xmlRefuseDepth {
				return nil, fmt.Errorf("XML nested deeper than %d elements", xmlRefuseDepth)
			}
			var e *xmlElem
			if t.Name.Space == "" && len(stack) < xmlMaxDepth && (parent != nil || len(stack) == 0) {
				e = &xmlElem{name: t.Name.Local, attrs: map[string]string{}}
				for _, a := range t.Attr {
					if a.Name.Space == "" {
						e.attrs[a.Name.Local] = a.Value
					}
				}
				if parent != nil {
					parent.kids = append(parent.kids, e)
				}
			}
			if len(stack) == 0 {
				if e == nil || e.name != root {
					return nil, fmt.Errorf("root element <%s>, want <%s>", t.Name.Local, root)
				}
				top = e
			}
			stack = append(stack, e)
		case xml.CharData:
			if n := len(stack); n > 0 && stack[n-1] != nil {
				stack[n-1].text.Write(t)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if top == nil {
		return nil, errors.New("no root element")
	}
	return top, nil
}

// canonicalUUID parses a UUID as libvirt's virUUIDParse does (spaces
// around it and '-' between digits ignored) and formats it 8-4-4-4-12.
func canonicalUUID(s string) (string, error) {
	digits := strings.NewReplacer("-", "", " ", "", "\t", "", "\n", "").Replace(s)
	b, err := hex.DecodeString(digits)
	if err != nil || len(b) != 16 {
		return "", fmt.Errorf("malformed <uuid> %q", s)
	}
	var u [16]byte
	copy(u[:], b)
	return uuidString(u), nil
}
