// SPDX-License-Identifier: Apache-2.0

// Package tomlfile reads the TOML files people write for the helper
// (roles, the XML content policy) strictly, and says where each problem
// is: unknown keys and wrong types are errors naming the file and the line
// go-toml reports, and the line of every key is kept for the checks that
// come after decoding.
package tomlfile

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Error is a problem in a file, at a line when one is known.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Decode decodes data (a leading byte-order mark is dropped) into v,
// strictly, and returns the line of every table header and key: "a.b.c"
// for key c of table [a.b], "t.N" for the Nth [[t]] (from 0).
func Decode(file string, data []byte, v any) (map[string]int, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, decodeError(file, err)
	}
	lines, err := keyLines(data)
	if err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	return lines, nil
}

func decodeError(file string, err error) error {
	var serr *toml.StrictMissingError
	if errors.As(err, &serr) && len(serr.Errors) > 0 {
		e := serr.Errors[0]
		row, _ := e.Position()
		return &Error{File: file, Line: row, Msg: "unknown key " + strings.Join(e.Key(), ".")}
	}
	var derr *toml.DecodeError
	if errors.As(err, &derr) {
		row, _ := derr.Position()
		return &Error{File: file, Line: row, Msg: derr.Error()}
	}
	return &Error{File: file, Msg: err.Error()}
}

// keyLines maps every table header and key of data to its line, naming
// array tables by their index ("grant.0"), as decoded values are.
func keyLines(data []byte) (map[string]int, error) {
	var newlines []int
	for i, b := range data {
		if b == '\n' {
			newlines = append(newlines, i)
		}
	}
	lineOf := func(r unstable.Range) int { return sort.SearchInts(newlines, int(r.Offset)) + 1 }
	lines := make(map[string]int)
	counts := make(map[string]int)
	var p unstable.Parser
	p.Reset(data)
	table := ""
	for p.NextExpression() {
		e := p.Expression()
		key, line := exprKey(e, lineOf)
		switch e.Kind {
		case unstable.Table:
			table = key
			key = table
		case unstable.ArrayTable:
			table = key + "." + strconv.Itoa(counts[key])
			counts[key]++
			key = table
		case unstable.KeyValue:
			if table != "" {
				key = table + "." + key
			}
		default:
			continue
		}
		lines[key] = line
	}
	return lines, p.Error()
}

func exprKey(e *unstable.Node, lineOf func(unstable.Range) int) (string, int) {
	var parts []string
	line := 0
	for it := e.Key(); it.Next(); {
		n := it.Node()
		if line == 0 {
			line = lineOf(n.Raw)
		}
		parts = append(parts, string(n.Data))
	}
	return strings.Join(parts, "."), line
}
