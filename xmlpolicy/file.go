// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// fileDoc is a policy file as TOML decodes it.
type fileDoc struct {
	Version  int                `toml:"version"`
	Pools    []string           `toml:"pools"`
	Networks []string           `toml:"networks"`
	Limits   limitsDoc          `toml:"limits"`
	Rule     map[string]ruleDoc `toml:"rule"`
}

type limitsDoc struct {
	MaxBytes       int `toml:"max_bytes"`
	MaxDepth       int `toml:"max_depth"`
	MaxElements    int `toml:"max_elements"`
	MaxOpaqueBytes int `toml:"max_opaque_bytes"`
}

type ruleDoc struct {
	Why     string             `toml:"why"`
	Element map[string]elemDoc `toml:"element"`
}

type elemDoc struct {
	Attrs       map[string]any `toml:"attrs"`
	Text        any            `toml:"text"`
	Require     []string       `toml:"require"`
	Max         int            `toml:"max"`
	MaxChildren int            `toml:"max_children"`
	Opaque      bool           `toml:"opaque"`
	SameAs      string         `toml:"same_as"`
}

// FileError is a problem in a policy file, at a line when one is known.
type FileError struct {
	File string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Parse parses a policy file's contents; name is the file name errors use.
func Parse(name string, data []byte) (*Policy, error) {
	var doc fileDoc
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, decodeError(name, err)
	}
	lines, err := keyLines(data)
	if err != nil {
		return nil, &FileError{File: name, Msg: err.Error()}
	}
	c := compiler{file: name, lines: lines}
	return c.compile(&doc)
}

func decodeError(file string, err error) error {
	var serr *toml.StrictMissingError
	if errors.As(err, &serr) && len(serr.Errors) > 0 {
		e := serr.Errors[0]
		row, _ := e.Position()
		return &FileError{File: file, Line: row, Msg: "unknown key " + strings.Join(e.Key(), ".")}
	}
	var derr *toml.DecodeError
	if errors.As(err, &derr) {
		row, _ := derr.Position()
		return &FileError{File: file, Line: row, Msg: derr.Error()}
	}
	return &FileError{File: file, Msg: err.Error()}
}

// compiler turns a decoded file into a Policy, naming the line of each
// problem.
type compiler struct {
	file  string
	lines map[string]int
}

func (c *compiler) errorf(key, format string, args ...any) *FileError {
	return &FileError{File: c.file, Line: c.line(key), Msg: fmt.Sprintf(format, args...)}
}

// line is the line of key, or of the nearest enclosing table.
func (c *compiler) line(key string) int {
	for k := key; k != ""; {
		if l, ok := c.lines[k]; ok {
			return l
		}
		i := strings.LastIndex(k, ".")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

func (c *compiler) compile(doc *fileDoc) (*Policy, error) {
	if doc.Version != 1 {
		return nil, c.errorf("version", "version = %d: this helper reads version = 1", doc.Version)
	}
	p := &Policy{name: c.file, pools: doc.Pools, networks: doc.Networks, elems: make(map[string]*elemRule)}
	var err error
	if p.lim, err = c.limits(doc.Limits); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(doc.Rule))
	for n := range doc.Rule {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, rn := range names {
		if err := c.rule(p, rn, doc.Rule[rn]); err != nil {
			return nil, err
		}
	}
	return p, c.sameAs(p)
}

func (c *compiler) limits(d limitsDoc) (limits, error) {
	l := limits{maxBytes: d.MaxBytes, maxDepth: d.MaxDepth, maxElements: d.MaxElements, maxOpaqueBytes: d.MaxOpaqueBytes}
	for key, v := range map[string]int{"max_bytes": l.maxBytes, "max_depth": l.maxDepth, "max_elements": l.maxElements, "max_opaque_bytes": l.maxOpaqueBytes} {
		if v <= 0 {
			return l, c.errorf("limits."+key, "limits.%s must be set and positive", key)
		}
	}
	if l.maxDepth > 256 {
		return l, c.errorf("limits.max_depth", "limits.max_depth above 256, deeper than libxml2 reads")
	}
	return l, nil
}

func (c *compiler) rule(p *Policy, name string, r ruleDoc) error {
	key := "rule." + name
	if name == ruleXML || name == ruleLimits || name == ruleNamespaces || name == ruleAllowlist {
		return c.errorf(key, "rule name %q is reserved", name)
	}
	if strings.TrimSpace(r.Why) == "" {
		return c.errorf(key, "rule %s: why is missing (say what the rule protects)", name)
	}
	if len(r.Element) == 0 {
		return c.errorf(key, "rule %s names no element", name)
	}
	for path, e := range r.Element {
		ekey := key + ".element." + path
		if prev, ok := p.elems[path]; ok {
			return c.errorf(ekey, "element %s is already in rule %s", path, prev.rule)
		}
		er, err := c.element(ekey, name, path, e)
		if err != nil {
			return err
		}
		p.elems[path] = er
	}
	return nil
}
