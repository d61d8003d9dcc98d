// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"fmt"
	"strings"
)

// Rule names the parser and the limits use; a file's rules have their own.
const (
	ruleXML        = "xml"        // the strict parse: well-formed, no DTD, namespaces bound
	ruleLimits     = "limits"     // [limits]: size, depth, element count
	ruleNamespaces = "namespaces" // no foreign element or attribute outside an opaque element
	ruleAllowlist  = "allowlist"  // a root element the policy does not name
)

// limits bound the parse.
type limits struct {
	maxBytes, maxDepth, maxElements, maxOpaqueBytes int
}

// elemRule is what the policy allows of one element, found by its path
// from the root ("domain/devices/disk").
type elemRule struct {
	rule        string
	attrs       map[string]*constraint
	text        *constraint // nil: no text
	require     []requirement
	max         int // occurrences under one parent; 0: unbounded
	maxChildren int // child elements; 0: unbounded
	opaque      bool
	sameAs      string               // check this element as the one at this path
	target      *elemRule            // sameAs's rule, once compiled
	kids        map[string]*elemRule // the rules of the children it may have, by name
}

// requirement is one entry of require: what must be there, when cond
// holds (always when cond is empty).
type requirement struct {
	src       string
	what      locator
	cond      locator
	condValue string
	hasCond   bool
}

// locator finds a child element and optionally one of its attributes,
// relative to an element: "driver/@type", "@device", "source".
type locator struct {
	elems []string
	attr  string
}

func parseLocator(s string) (locator, error) {
	var l locator
	parts := strings.Split(s, "/")
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, "@") && i == len(parts)-1 && len(p) > 1:
			l.attr = p[1:]
		case p == "" || strings.ContainsAny(p, "@=[] "):
			return l, fmt.Errorf("bad path %q (want child/child/@attribute)", s)
		default:
			l.elems = append(l.elems, p)
		}
	}
	return l, nil
}

// parseRequirement reads "WHAT" or "WHAT if PATH=VALUE".
func parseRequirement(s string) (requirement, error) {
	r := requirement{src: s}
	what, cond, hasCond := strings.Cut(s, " if ")
	var err error
	if r.what, err = parseLocator(what); err != nil {
		return r, err
	}
	if hasCond {
		path, value, ok := strings.Cut(cond, "=")
		if !ok {
			return r, fmt.Errorf("require %q: condition must be PATH=VALUE", s)
		}
		if r.cond, err = parseLocator(path); err != nil {
			return r, err
		}
		r.condValue, r.hasCond = value, true
	}
	return r, nil
}

// find returns the value l locates under n and whether it is there.
func (l locator) find(n *node) (string, bool) {
	for _, name := range l.elems {
		if n = n.Child(name); n == nil {
			return "", false
		}
	}
	if l.attr == "" {
		return "", true
	}
	return n.Attr(l.attr)
}

// holds reports whether r is met by n: its condition is false, or what
// it requires is there.
func (r requirement) holds(n *node) bool {
	if r.hasCond {
		if v, ok := r.cond.find(n); !ok || v != r.condValue {
			return true
		}
	}
	_, ok := r.what.find(n)
	return ok
}
