// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"errors"
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/internal/xmldoc"
)

// node is one element as libxml2 would build it, with its namespace
// resolved. Only documents that encoding/xml and libxml2 read alike get
// this far: xmldoc.Parse, the reader the guard identifies objects with
// too, refuses everything the two could read differently.
type node = xmldoc.Element

// limitKey names one of xmldoc's limits as the policy file sets it.
func limitKey(l xmldoc.LimitName) string {
	switch l {
	case xmldoc.LimitBytes:
		return "max_bytes"
	case xmldoc.LimitDepth:
		return "max_depth"
	case xmldoc.LimitTokens:
		return "max_elements (4 tokens an element, plus 16)"
	}
	return "max_elements"
}

// parse reads doc strictly into a tree, or says why it will not: under
// the rule limits past one of the file's [limits], else under xml.
func parse(doc []byte, lim limits) (*node, *Violation) {
	root, err := xmldoc.Parse(doc, xmldoc.Limits{MaxBytes: lim.maxBytes, MaxDepth: lim.maxDepth, MaxElements: lim.maxElements})
	if err == nil {
		return root, nil
	}
	var e *xmldoc.Error
	switch {
	case !errors.As(err, &e):
		return nil, &Violation{Path: "/", Rule: ruleXML, Reason: err.Error()}
	case e.Kind == xmldoc.Limit:
		return nil, &Violation{Path: "/", Rule: ruleLimits, Reason: fmt.Sprintf("%s, over limits.%s", e.Msg, limitKey(e.Limit))}
	}
	return nil, &Violation{Path: "/", Rule: ruleXML, Reason: e.Error()}
}
