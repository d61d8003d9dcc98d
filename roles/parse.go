// SPDX-License-Identifier: Apache-2.0

package roles

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

// fileDoc is one roles file as TOML decodes it.
type fileDoc struct {
	Role  map[string]roleDoc `toml:"role"`
	Grant []grantDoc         `toml:"grant"`
}

type roleDoc struct {
	Description string   `toml:"description"`
	Connect     []string `toml:"connect"`
	Domain      []string `toml:"domain"`
	Network     []string `toml:"network"`
	StoragePool []string `toml:"storage_pool"`
}

type grantDoc struct {
	Role        string `toml:"role"`
	User        string `toml:"user,omitempty"`
	Group       string `toml:"group,omitempty"`
	Domain      string `toml:"domain,omitempty"`
	Network     string `toml:"network,omitempty"`
	StoragePool string `toml:"storage_pool,omitempty"`
	Name        string `toml:"name,omitempty"`
}

// decoded is one file, decoded, with the line of every key.
type decoded struct {
	file  string
	doc   fileDoc
	lines map[string]int // "role.NAME.KEY", "grant.N.KEY" (and without .KEY: the header)
}

// line returns the line of key under table, or of the table itself.
func (d *decoded) line(table, key string) int {
	if l, ok := d.lines[table+"."+key]; ok {
		return l
	}
	return d.lines[table]
}

func (d *decoded) errorf(table, key, format string, args ...any) *Error {
	return &Error{File: d.file, Line: d.line(table, key), Msg: fmt.Sprintf(format, args...)}
}

// decode reads one file strictly: unknown keys and wrong types are errors
// with the line go-toml reports.
func decode(file string, data []byte) (*decoded, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	d := &decoded{file: file}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&d.doc); err != nil {
		return nil, decodeError(file, err)
	}
	lines, err := keyLines(data)
	if err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	d.lines = lines
	return d, nil
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
// array tables by their index ("grant.0"), as decode's values are.
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
