// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/pelletier/go-toml/v2"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

const managedHeader = `# Managed by virt-acl-helper roles grant and revoke: edits here are kept,
# comments are not. Write roles and grants of your own in roles.toml or
# another file in this directory.

`

// ManagedPath returns the file grant and revoke edit in dir.
func ManagedPath(dir string) string { return filepath.Join(dir, DropInDir, ManagedFile) }

// Edit is a change grant or revoke made: the policy before and after, and
// the grant added or removed.
type Edit struct {
	Grant  Grant
	Policy *Policy // the policy after the change
}

// AddGrant adds g to dir's managed file, after checking the whole policy
// with it. Granting what is already granted is an error naming where.
func AddGrant(dir string, g Grant, accts Accounts) (Edit, error) {
	pol, err := Load(dir, accts)
	if err != nil {
		return Edit{}, err
	}
	for _, old := range pol.Grants {
		if old.Same(g) {
			return Edit{}, fmt.Errorf("%s: already granted: %s", old.Source, old)
		}
	}
	docs, err := readManaged(dir)
	if err != nil {
		return Edit{}, err
	}
	docs = append(docs, toDoc(g))
	e, err := writeManaged(dir, docs, g, accts)
	if err != nil {
		return e, err
	}
	for _, ng := range e.Policy.Grants { // the new grant, with its place
		if ng.Same(g) {
			e.Grant = ng
		}
	}
	return e, nil
}

// RemoveGrant removes the grant matching g (role, subject, object) from
// dir's managed file. A grant written in another file is not touched: the
// error names its file and line.
func RemoveGrant(dir string, g Grant, accts Accounts) (Edit, error) {
	pol, err := Load(dir, accts)
	if err != nil {
		return Edit{}, err
	}
	managed := ManagedPath(dir)
	for _, old := range pol.Grants {
		if old.Same(g) && old.Source.File != managed {
			return Edit{}, fmt.Errorf("%s: %s is written there, not in %s: remove it by hand, then run roles apply", old.Source, old, managed)
		}
	}
	docs, err := readManaged(dir)
	if err != nil {
		return Edit{}, err
	}
	kept := docs[:0]
	var removed *Grant
	for i, d := range docs {
		if sameDoc(d, g) && removed == nil {
			r := pol.managedGrant(managed, i)
			removed = &r
			continue
		}
		kept = append(kept, d)
	}
	if removed == nil {
		return Edit{}, fmt.Errorf("no such grant: %s", g)
	}
	return writeManaged(dir, kept, *removed, accts)
}

// managedGrant returns the i-th grant of the managed file.
func (p *Policy) managedGrant(file string, i int) Grant {
	n := 0
	for _, g := range p.Grants {
		if g.Source.File == file {
			if n == i {
				return g
			}
			n++
		}
	}
	return Grant{}
}

func readManaged(dir string) ([]grantDoc, error) {
	path := ManagedPath(dir)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	d, err := decode(path, data)
	if err != nil {
		return nil, err
	}
	if len(d.doc.Role) > 0 {
		return nil, &Error{File: path, Msg: "defines roles: grant and revoke manage this file, which holds grants only; move the roles to roles.toml"}
	}
	return d.doc.Grant, nil
}

// writeManaged validates the policy with docs as the managed file, then
// writes the file.
func writeManaged(dir string, docs []grantDoc, g Grant, accts Accounts) (Edit, error) {
	var buf bytes.Buffer
	buf.WriteString(managedHeader)
	if len(docs) > 0 {
		enc := toml.NewEncoder(&buf)
		if err := enc.Encode(fileDoc{Grant: docs}); err != nil {
			return Edit{}, fmt.Errorf("roles: encode grants: %w", err)
		}
	}
	path := ManagedPath(dir)
	paths, contents, err := withFile(dir, path, buf.Bytes())
	if err != nil {
		return Edit{}, err
	}
	pol, err := Parse(paths, contents, accts)
	if err != nil {
		return Edit{}, fmt.Errorf("the change would not validate: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return Edit{}, fmt.Errorf("roles: %w", err)
	}
	if err := WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return Edit{}, err
	}
	return Edit{Grant: g, Policy: pol}, nil
}

// withFile reads dir's files, with path's contents replaced by data.
func withFile(dir, path string, data []byte) ([]string, map[string][]byte, error) {
	paths, err := Paths(dir)
	if err != nil {
		return nil, nil, err
	}
	contents := map[string][]byte{path: data}
	found := false
	for _, p := range paths {
		if p == path {
			found = true
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("roles: %w", err)
		}
		contents[p] = b
	}
	if !found {
		paths = append(paths, path)
		sort.Slice(paths, func(i, j int) bool { return pathLess(dir, paths[i], paths[j]) })
	}
	return paths, contents, nil
}

func toDoc(g Grant) grantDoc {
	d := grantDoc{Role: g.Role, User: g.Subject.User, Group: g.Subject.Group, Name: g.Name}
	switch g.Object.Type {
	case acl.Domain:
		d.Domain = g.Object.UUID
	case acl.Network:
		d.Network = g.Object.UUID
	default:
		d.StoragePool = g.Object.UUID
	}
	return d
}

func sameDoc(d grantDoc, g Grant) bool {
	o := toDoc(g)
	d.Name, o.Name = "", ""
	d.Domain, d.Network, d.StoragePool = canonical(d.Domain), canonical(d.Network), canonical(d.StoragePool)
	return d == o
}

// canonical lower-cases a UUID; anything else is returned as it is.
func canonical(s string) string {
	if u, err := CanonicalUUID(s); err == nil {
		return u
	}
	return s
}

// pathLess orders files as Paths does: roles.toml first, then the drop-ins
// by name.
func pathLess(dir, a, b string) bool {
	main := filepath.Join(dir, MainFile)
	if a == main || b == main {
		return a == main && b != main
	}
	return a < b
}
