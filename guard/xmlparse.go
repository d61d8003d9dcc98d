// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/internal/xmldoc"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// xmlLimits bound what readXML reads. Depth: libxml2, which parses
// libvirt's XML, refuses documents nested deeper than 256 without
// XML_PARSE_HUGE, so nothing libvirt accepts is refused here. Bytes: no
// document arrives longer than a protocol string. Elements: xmlMaxElements.
// Keep: the root, its children and theirs (a secret's <usage><volume>)
// are all the guard reads; deeper elements are read and checked, and
// only their text kept.
func xmlLimits() xmldoc.Limits {
	return xmldoc.Limits{MaxBytes: proto.RemoteStringMax, MaxDepth: xmlRefuseDepth,
		MaxElements: xmlMaxElements, Keep: 3}
}

// xmlMaxElements bounds the elements of a document the guard reads, and
// with them the memory its tree holds (about 256 bytes an element kept):
// a protocol string of "<a/>" has a million, 256 MiB for any client of
// the guard to have it hold before any decision. libvirt's definitions
// have hundreds, a network with every DHCP host of a large site tens of
// thousands.
const xmlMaxElements = 100_000

// xmlRefuseDepth is libxml2's bound on nesting (xmlLimits).
const xmlRefuseDepth = 256

// childText is string(./name[1]): the string-value of e's first child
// called name in no namespace, up to a bound past which every value is
// refused anyway (acl.MaxValueLen), and whether there is one.
func childText(e *xmldoc.Element, name string) (string, bool) {
	c := e.Child(name)
	if c == nil {
		return "", false
	}
	return c.Value(acl.MaxValueLen + 1), true
}

// attr is string(./@name): e's attribute name, "" if it has none.
func attr(e *xmldoc.Element, name string) string {
	v, _ := e.Attr(name)
	return v
}

// readXML reads doc, whose root element must be k.root, with xmldoc's
// strict reader, the one the XML content policy reads it with too.
// Elements in a namespace are ignored with their content: libvirt's
// expressions name no namespace. A document libvirt would refuse to
// parse, or that xmldoc refuses as one libxml2 could read otherwise,
// fails with a *docError carrying libvirt's error for it; one libvirt
// would read otherwise than the guard, with errUnsupported.
func readXML(doc string, k xmlKind) (*xmldoc.Element, error) {
	root, err := xmldoc.Parse([]byte(doc), xmlLimits())
	if err != nil {
		var e *xmldoc.Error
		if !errors.As(err, &e) {
			return nil, syntaxError(k, doc, 1, 1, err.Error())
		}
		return nil, syntaxError(k, doc, e.Line, e.Col, refusalText(e))
	}
	switch {
	case root.Local != k.root:
		// libvirt checks the root once the document is parsed.
		return nil, rootError(k, root.Local)
	case root.NS != "":
		// libvirt compares the root's local name only
		// (virXMLNodeNameEqual), but its expressions then see no
		// children the guard reads.
		return nil, fmt.Errorf("%w: root element <%s> in namespace %q", errUnsupported, k.root, root.NS)
	}
	if err := ambiguousAttrs(root); err != nil {
		return nil, err
	}
	return root, nil
}

// refusalText is what the admin reads for e, in libvirt's form: libxml2's
// words for a document that is not well-formed, which libvirt refuses
// too; for a construct or size the guard alone refuses, the same words
// and who refused, so that no one looks for the cause in libvirt.
func refusalText(e *xmldoc.Error) string {
	if e.Kind == xmldoc.Malformed {
		return e.Msg
	}
	return e.Msg + guardRefused
}

// guardRefused ends the text of a refusal that is the guard's alone.
const guardRefused = " (refused by the virt-acl-helper guard)"

// ambiguousAttrs refuses a tab or line break in any attribute the guard
// could read (the kept levels, no namespace): libvirt would read
// another value than the guard decides on (xmldoc.AmbiguousAttr).
func ambiguousAttrs(e *xmldoc.Element) error {
	for _, a := range e.Attrs {
		if a.Name.Space == "" && xmldoc.AmbiguousAttr(a.Value) {
			return fmt.Errorf("%w: a tab or line break in the attribute %s of <%s> (libxml2 reads a space for it, so the value is ambiguous)",
				errUnsupported, a.Name.Local, e.Local)
		}
	}
	for _, c := range e.Children {
		if err := ambiguousAttrs(c); err != nil {
			return err
		}
	}
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
