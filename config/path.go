// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
)

// filePath is a key holding an absolute file path, or "" where empty
// means off (the setting's documentation says what that turns off).
type filePath struct {
	def string
	get func(*Config) string
	set func(*Config, string)
}

func (k filePath) literal() string { return strconv.Quote(k.def) }

func (k filePath) reset(c *Config) { k.set(c, k.def) }

func (k filePath) decode(c *Config, v value) error {
	if v.kind != kindString {
		return typeError("a string", v)
	}
	if err := checkPath(v.str); err != nil {
		return err
	}
	k.set(c, v.str)
	return nil
}

func (k filePath) check(c *Config) error { return checkPath(k.get(c)) }

// checkPath accepts "" or a clean absolute path: a relative one would
// depend on the directory the program happens to start in.
func checkPath(p string) error {
	switch {
	case p == "":
		return nil
	case strings.ContainsRune(p, 0):
		return errors.New("must not contain a NUL byte")
	case !filepath.IsAbs(p) || filepath.Clean(p) != p:
		return errors.New("must be an absolute, clean path (or \"\" for none), got " + strconv.Quote(clip(p)))
	}
	return nil
}
