// SPDX-License-Identifier: Apache-2.0

package config

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// The tokenizer is go-toml's: libvirtd.conf syntax is, for everything this
// file needs, a subset of TOML. This file walks go-toml's syntax tree and
// refuses the TOML that is not libvirt syntax (tables, dotted and quoted
// keys, booleans, floats, dates, inline tables, escapes, non-decimal
// integers), so the accepted language stays libvirtd.conf's. The little
// libvirt accepts and TOML does not (";" between settings, leading zeros as
// in 010) stays refused, with the line named.

// parser holds the state of one Parse call.
type parser struct {
	toml     unstable.Parser
	newlines []int          // offsets of '\n' in the input, to find lines
	seen     map[string]int // key -> line where it was set
	cfg      Config
}

func parse(data []byte) (Config, *Error) {
	// Editors on other systems may add a byte order mark; TOML rejects it.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	p := &parser{seen: make(map[string]int), cfg: Default()}
	for i, b := range data {
		if b == '\n' {
			p.newlines = append(p.newlines, i)
		}
	}
	p.toml.Reset(data)
	for p.toml.NextExpression() {
		if err := p.apply(p.toml.Expression()); err != nil {
			return Config{}, err
		}
	}
	if err := p.toml.Error(); err != nil {
		return Config{}, p.syntaxError(err)
	}
	return p.cfg, nil
}

// line returns the 1-based line of r, or 0 for a node without a position.
// The parser's own Shape rescans the input on every call, which makes
// long lists quadratic.
func (p *parser) line(r unstable.Range) int {
	if r.Length == 0 {
		return 0
	}
	return sort.SearchInts(p.newlines, int(r.Offset)) + 1
}

// apply checks one top-level expression and stores its value.
func (p *parser) apply(expr *unstable.Node) *Error {
	switch expr.Kind {
	case unstable.Table, unstable.ArrayTable:
		return &Error{Line: p.keyLine(expr), Msg: "tables are not supported: write plain key = value lines"}
	case unstable.KeyValue:
		return p.applyKeyValue(expr)
	}
	return &Error{Msg: "unexpected " + expr.Kind.String()}
}

func (p *parser) applyKeyValue(expr *unstable.Node) *Error {
	name, line, err := p.keyName(expr)
	if err != nil {
		return err
	}
	s, ok := lookup(name)
	if !ok {
		return unknownKey(name, line)
	}
	if first, dup := p.seen[name]; dup {
		return &Error{Line: line, Key: name, Msg: fmt.Sprintf("set twice, first on line %d", first)}
	}
	p.seen[name] = line
	v, verr := p.value(expr.Value(), line)
	if verr == nil {
		verr = s.kind.decode(&p.cfg, v)
	}
	if verr != nil {
		return valueError(name, line, verr)
	}
	return nil
}

// keyName returns the key of a key = value expression and its line,
// refusing the TOML key forms libvirt does not have.
func (p *parser) keyName(expr *unstable.Node) (string, int, *Error) {
	line := p.keyLine(expr)
	var parts []string
	quoted := false
	for it := expr.Key(); it.Next(); {
		k := it.Node()
		parts = append(parts, string(k.Data))
		raw := p.toml.Raw(k.Raw)
		quoted = quoted || len(raw) > 0 && (raw[0] == '"' || raw[0] == '\'')
	}
	name := strings.Join(parts, ".")
	switch {
	case len(parts) != 1:
		return "", 0, &Error{Line: line, Key: name, Msg: "dotted keys are not supported"}
	case quoted:
		return "", 0, &Error{Line: line, Key: name, Msg: "quoted keys are not supported"}
	}
	return name, line, nil
}

// keyLine returns the line of the first key of a key = value or table
// expression.
func (p *parser) keyLine(expr *unstable.Node) int {
	it := expr.Key()
	if !it.Next() {
		return 0
	}
	return p.line(it.Node().Raw)
}

// value converts a value node, using line for nodes without a position.
// Only one level of list is read: a nested list is an error anyway, and
// not descending keeps this code free of recursion.
func (p *parser) value(n *unstable.Node, line int) (value, error) {
	v, err := p.scalar(n, line)
	if err != nil || n.Kind != unstable.Array {
		return v, err
	}
	for it := n.Children(); it.Next(); {
		e, err := p.scalar(it.Node(), v.line)
		if err != nil {
			return value{}, err
		}
		v.elems = append(v.elems, e)
	}
	return v, nil
}

// scalar converts a node without looking inside lists and tables.
func (p *parser) scalar(n *unstable.Node, line int) (value, error) {
	if l := p.line(n.Raw); l > 0 {
		line = l
	}
	v := value{kind: kindName(n.Kind), line: line}
	switch n.Kind {
	case unstable.Array, unstable.InlineTable:
		// Their Raw is empty or only the opening bracket.
	case unstable.String:
		v.text, v.str = string(p.toml.Raw(n.Raw)), string(n.Data)
		if strings.HasPrefix(v.text, `"`) && strings.Contains(v.text, `\`) {
			// TOML would unescape; libvirt would keep the backslash.
			return value{}, atLine(line, errors.New("backslashes are not supported in strings"))
		}
	default:
		v.text = string(p.toml.Raw(n.Raw))
	}
	return v, nil
}

func kindName(k unstable.Kind) string {
	switch k {
	case unstable.Integer:
		return kindInteger
	case unstable.String:
		return kindString
	case unstable.Array:
		return kindArray
	case unstable.Bool:
		return "boolean"
	case unstable.Float:
		return "floating-point number"
	case unstable.InlineTable:
		return "inline table"
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		return "date or time"
	}
	return strings.ToLower(k.String())
}

// syntaxError turns a tokenizer error into an *Error with its line.
func (p *parser) syntaxError(err error) *Error {
	var perr *unstable.ParserError
	if !errors.As(err, &perr) {
		return &Error{Msg: "syntax error: " + err.Error()}
	}
	// Copy what is needed: a ParserError must not outlive its parser.
	e := &Error{Msg: "syntax error: " + perr.Message}
	data, hl := p.toml.Data(), perr.Highlight
	// Range panics unless hl lies inside data; check first.
	if off := cap(data) - cap(hl); off >= 0 && off+len(hl) <= len(data) {
		e.Line = sort.SearchInts(p.newlines, off) + 1
	}
	if len(hl) > 0 && hl[0] == ';' {
		e.Msg += " (put each setting on its own line)"
	}
	return e
}

func unknownKey(name string, line int) *Error {
	msg := "unknown key"
	if s := suggest(name); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return &Error{Line: line, Key: name, Msg: msg}
}

func valueError(name string, line int, err error) *Error {
	var le *lineError
	if errors.As(err, &le) {
		line = le.line
	}
	return &Error{Line: line, Key: name, Msg: err.Error()}
}
