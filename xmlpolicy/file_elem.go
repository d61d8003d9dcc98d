// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"sort"
	"strings"
)

func (c *compiler) element(key, rule, path string, e elemDoc) (*elemRule, error) {
	if path == "" || strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") || strings.ContainsAny(path, "@[] :.") {
		return nil, c.errorf(key, "element path %q: want names joined by /, from the root (domain/devices/disk)", path)
	}
	er := &elemRule{rule: rule, max: e.Max, maxChildren: e.MaxChildren, opaque: e.Opaque, sameAs: e.SameAs,
		attrs: make(map[string]*constraint, len(e.Attrs))}
	if e.Max < 0 || e.MaxChildren < 0 {
		return nil, c.errorf(key, "max and max_children must not be negative")
	}
	if e.SameAs != "" && (len(e.Attrs) > 0 || e.Text != nil || len(e.Require) > 0 || e.Opaque) {
		return nil, c.errorf(key, "same_as takes every other setting from the element it names")
	}
	for name, v := range e.Attrs {
		if name == "" || strings.ContainsAny(name, ":/@ ") {
			return nil, c.errorf(key+".attrs", "attribute name %q: namespaced and odd names cannot be allowed", name)
		}
		con, err := parseConstraint(v)
		if err != nil {
			return nil, c.errorf(key+".attrs."+name, "attribute %s: %v", name, err)
		}
		er.attrs[name] = &con
	}
	if e.Text != nil {
		con, err := parseConstraint(e.Text)
		if err != nil {
			return nil, c.errorf(key+".text", "text: %v", err)
		}
		er.text = &con
	}
	for _, s := range e.Require {
		r, err := parseRequirement(s)
		if err != nil {
			return nil, c.errorf(key+".require", "require: %v", err)
		}
		er.require = append(er.require, r)
	}
	return er, nil
}

// sameAs checks that every same_as names an element the policy has.
func (c *compiler) sameAs(p *Policy) error {
	for _, path := range sortedPaths(p) {
		er := p.elems[path]
		if er.sameAs == "" {
			continue
		}
		t, ok := p.elems[er.sameAs]
		if !ok || t.sameAs != "" {
			return c.errorf("rule."+er.rule+".element."+path+".same_as", "same_as %q names no element of the policy (or another same_as)", er.sameAs)
		}
		er.target = t
	}
	return nil
}

// link gives every element's rule the rules of its children, so that a
// check walks the policy as it walks the document. An element whose
// parent the policy does not allow, or checks as another (same_as), could
// never be reached: an error, not a rule that silently does nothing.
func (c *compiler) link(p *Policy) error {
	for _, path := range sortedPaths(p) {
		er := p.elems[path]
		i := strings.LastIndex(path, "/")
		if i < 0 {
			continue
		}
		parent := p.elems[path[:i]]
		if parent == nil || parent.sameAs != "" {
			return c.errorf("rule."+er.rule+".element."+path, "element %s can never be reached: the policy does not allow %s, or checks it as another element (same_as)", path, path[:i])
		}
		if parent.kids == nil {
			parent.kids = make(map[string]*elemRule)
		}
		parent.kids[path[i+1:]] = er
	}
	return nil
}

// sortedPaths is the policy's element paths in order, so that the first
// error in a file is always the same one.
func sortedPaths(p *Policy) []string {
	paths := make([]string, 0, len(p.elems))
	for path := range p.elems {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	return paths
}
