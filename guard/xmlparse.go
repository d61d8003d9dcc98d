// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
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
// and children without a namespace, and the text inside it.
type xmlElem struct {
	name  string
	attrs map[string]string
	text  strings.Builder
	kids  []*xmlElem
}

// addText appends t to e's text, up to a bound past which every value
// is refused anyway (acl.MaxValueLen).
func (e *xmlElem) addText(t []byte) {
	if e == nil {
		return
	}
	if room := acl.MaxValueLen + 1 - e.text.Len(); room < len(t) {
		t = t[:max(room, 0)]
	}
	e.text.Write(t)
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

// readXML reads doc, whose root element must be k.root, keeping the
// first xmlMaxDepth levels. Elements in a namespace are dropped with
// their content: libvirt's expressions name no namespace. A document
// libvirt would refuse to parse fails with a *docError carrying
// libvirt's error for it; one libvirt would read otherwise than the
// guard, with errUnsupported.
func readXML(doc string, k xmlKind) (*xmlElem, error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	r := xmlReader{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = r.add(tok)
		}
		if err != nil {
			line, col := d.InputPos()
			return nil, syntaxError(k, doc, line, col, err)
		}
	}
	switch {
	case r.top == nil:
		line, col := d.InputPos()
		return nil, syntaxError(k, doc, line, col, errors.New("Document is empty"))
	case r.top.name != k.root:
		// libvirt checks the root once the document is parsed.
		return nil, rootError(k, r.top.name)
	case r.rootSpace != "":
		// libvirt compares the root's local name only
		// (virXMLNodeNameEqual), but its expressions then see no
		// children the guard reads.
		return nil, fmt.Errorf("%w: root element <%s> in namespace %q", errUnsupported, k.root, r.rootSpace)
	}
	return r.top, nil
}

// xmlReader builds the tree readXML keeps, a token at a time, and
// refuses what libxml2 refuses and Go's decoder lets through.
type xmlReader struct {
	stack     []*xmlElem // nil entries: dropped elements
	top       *xmlElem
	rootSpace string
}

func (r *xmlReader) add(tok xml.Token) error {
	switch t := tok.(type) {
	case xml.StartElement:
		return r.start(t)
	case xml.CharData:
		n := len(r.stack)
		if n == 0 && len(bytes.TrimSpace(t)) > 0 {
			return errors.New("text outside the root element")
		}
		// An element's text is its XPath string-value, as libvirt's
		// string(./name) reads it: all the text inside it, nested
		// elements' too. The root's is never asked for.
		for _, e := range r.stack[min(n, 1):] {
			e.addText(t)
		}
	case xml.EndElement:
		r.stack = r.stack[:len(r.stack)-1]
	}
	return nil
}

func (r *xmlReader) start(t xml.StartElement) error {
	depth := len(r.stack)
	switch {
	case depth >= xmlRefuseDepth:
		return fmt.Errorf("XML nested deeper than %d elements", xmlRefuseDepth)
	case depth == 0 && r.top != nil:
		return errors.New("Extra content at the end of the document")
	}
	seen := map[xml.Name]bool{}
	for _, a := range t.Attr {
		if seen[a.Name] {
			return fmt.Errorf("Attribute %s redefined", a.Name.Local)
		}
		seen[a.Name] = true
	}
	var parent *xmlElem
	if depth > 0 {
		parent = r.stack[depth-1]
	}
	var e *xmlElem
	if depth == 0 || t.Name.Space == "" && depth < xmlMaxDepth && parent != nil {
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
	if depth == 0 {
		r.top, r.rootSpace = e, t.Name.Space
	}
	r.stack = append(r.stack, e)
	return nil
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
