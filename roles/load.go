// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
)

// Default places.
const (
	DefaultDir = "/etc/virt-acl-helper"
	MainFile   = "roles.toml"
	DropInDir  = "roles.d"
	// ManagedFile, under DropInDir, holds the grants that grant and
	// revoke manage.
	ManagedFile = "grants.toml"
)

// Paths returns the files a policy in dir is read from, in order:
// roles.toml (when present), then roles.d/*.toml sorted.
func Paths(dir string) ([]string, error) {
	var paths []string
	main := filepath.Join(dir, MainFile)
	if _, err := os.Stat(main); err == nil {
		paths = append(paths, main)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("roles: %w", err)
	}
	drop, err := filepath.Glob(filepath.Join(dir, DropInDir, "*.toml"))
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	sort.Strings(drop)
	return append(paths, drop...), nil
}

// Load reads and validates the policy in dir. No files is an empty policy
// (the built-in roles, no grants).
func Load(dir string, accts Accounts) (*Policy, error) {
	paths, err := Paths(dir)
	if err != nil {
		return nil, err
	}
	contents := make(map[string][]byte, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("roles: %w", err)
		}
		contents[p] = data
	}
	return Parse(paths, contents, accts)
}

// Parse validates the files in paths, whose contents are given, as one
// policy.
func Parse(paths []string, contents map[string][]byte, accts Accounts) (*Policy, error) {
	var files []*decoded
	var sources []Source
	for _, p := range paths {
		d, err := decode(p, contents[p])
		if err != nil {
			return nil, err
		}
		files = append(files, d)
		sum := sha256.Sum256(contents[p])
		sources = append(sources, Source{Path: p, SHA256: hex.EncodeToString(sum[:])})
	}
	pol, err := build(files, accts)
	if err != nil {
		return nil, err
	}
	pol.Sources = sources
	return pol, nil
}

// System looks users and groups up on the host (os/user: /etc/passwd and
// /etc/group, or NSS when built with cgo).
type System struct{}

// LookupUser implements Accounts.
func (System) LookupUser(name string) error {
	_, err := user.Lookup(name)
	return err
}

// LookupGroup implements Accounts.
func (System) LookupGroup(name string) error {
	_, err := user.LookupGroup(name)
	return err
}

// GroupsOf returns the names of the groups user is in, as polkit's
// subject.isInGroup sees them (primary and supplementary).
func GroupsOf(name string) ([]string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", name, err)
	}
	var names []string
	for _, id := range ids {
		g, err := user.LookupGroupId(id)
		if err != nil {
			return nil, fmt.Errorf("groups of %s: %w", name, err)
		}
		names = append(names, g.Name)
	}
	sort.Strings(names)
	return names, nil
}

// describeSources lists the files for the rendered rule's header.
func describeSources(srcs []Source) string {
	if len(srcs) == 0 {
		return "//   (no roles files: built-in roles only, no grants)\n"
	}
	var b strings.Builder
	for _, s := range srcs {
		fmt.Fprintf(&b, "//   %s (sha256 %s)\n", s.Path, s.SHA256)
	}
	return b.String()
}
