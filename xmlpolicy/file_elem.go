// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

func (c *compiler) element(key, rule, path string, e elemDoc) (*elemRule, error) {
	if path == "" || strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") || strings.ContainsAny(path, "@[] :") {
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
	paths := make([]string, 0, len(p.elems))
	for path := range p.elems {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		er := p.elems[path]
		if er.sameAs == "" {
			continue
		}
		t, ok := p.elems[er.sameAs]
		if !ok || t.sameAs != "" {
			return c.errorf("rule."+er.rule+".element."+path+".same_as", "same_as %q names no element of the policy (or another same_as)", er.sameAs)
		}
	}
	return nil
}

// keyLines maps every table header and key of data to its line, dotted
// as decoding names them ("rule.disks.element.domain/devices/disk").
func keyLines(data []byte) (map[string]int, error) {
	var newlines []int
	for i, b := range data {
		if b == '\n' {
			newlines = append(newlines, i)
		}
	}
	lines := make(map[string]int)
	var p unstable.Parser
	p.Reset(data)
	table := ""
	for p.NextExpression() {
		e := p.Expression()
		var parts []string
		line := 0
		for it := e.Key(); it.Next(); {
			n := it.Node()
			if line == 0 {
				line = sort.SearchInts(newlines, int(n.Raw.Offset)) + 1
			}
			parts = append(parts, string(n.Data))
		}
		key := strings.Join(parts, ".")
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = key
		case unstable.KeyValue:
			if table != "" {
				key = table + "." + key
			}
		default:
			continue
		}
		if _, seen := lines[key]; !seen {
			lines[key] = line
		}
	}
	return lines, p.Error()
}
