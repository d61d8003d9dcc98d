// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/internal/tomlfile"
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
	d := &decoded{file: file}
	lines, err := tomlfile.Decode(file, data, &d.doc)
	if err != nil {
		return nil, err
	}
	d.lines = lines
	return d, nil
}
