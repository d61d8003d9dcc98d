// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kind is how a key's value is written, checked and stored in a Config.
// Errors it returns carry only the message; the caller adds file, line and
// key.
type kind interface {
	literal() string // the default value, as written in the file
	reset(c *Config) // store the default value
	decode(c *Config, v value) error
	check(c *Config) error
}

// accessor reads and writes one integer-like Config field in the unit the
// file uses. get reports false when the field holds a value the file could
// not express, such as a fraction of a second.
type accessor struct {
	get func(*Config) (int64, bool)
	set func(*Config, int64)
}

// number maps an integer field one to one.
func number[T ~int](field func(*Config) *T) accessor {
	return accessor{
		get: func(c *Config) (int64, bool) { return int64(*field(c)), true },
		set: func(c *Config, n int64) { *field(c) = T(n) },
	}
}

// seconds maps a duration field to whole seconds.
func seconds(field func(*Config) *time.Duration) accessor {
	return accessor{
		get: func(c *Config) (int64, bool) {
			d := *field(c)
			return int64(d / time.Second), d%time.Second == 0
		},
		set: func(c *Config, n int64) { *field(c) = time.Duration(n) * time.Second },
	}
}

// flag maps a bool field to libvirt's 0 or 1.
func flag(field func(*Config) *bool) accessor {
	return accessor{
		get: func(c *Config) (int64, bool) {
			if *field(c) {
				return 1, true
			}
			return 0, true
		},
		set: func(c *Config, n int64) { *field(c) = n != 0 },
	}
}

// integer is a key holding a decimal integer between min and max.
type integer struct {
	def, min, max int64
	accessor
}

func (k integer) literal() string { return strconv.FormatInt(k.def, 10) }

func (k integer) reset(c *Config) { k.set(c, k.def) }

func (k integer) decode(c *Config, v value) error {
	if v.kind != kindInteger {
		return typeError("an integer", v)
	}
	if !isDecimal(v.text) {
		// TOML's 1_000, 0x10, 0o7 and 0b1 are not libvirt syntax.
		return fmt.Errorf("must be a decimal integer, got %s", clip(v.text))
	}
	n, err := strconv.ParseInt(v.text, 10, 64)
	if err != nil || n < k.min || n > k.max {
		return k.rangeError(clip(v.text))
	}
	k.set(c, n)
	return nil
}

func (k integer) check(c *Config) error {
	n, exact := k.get(c)
	if !exact {
		return errors.New("must be a whole number of seconds")
	}
	if n < k.min || n > k.max {
		return k.rangeError(strconv.FormatInt(n, 10))
	}
	return nil
}

func (k integer) rangeError(got string) error {
	return fmt.Errorf("must be between %d and %d, got %s", k.min, k.max, got)
}

// isDecimal reports whether s is an optionally signed run of ASCII digits.
func isDecimal(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// stringList is a key holding a non-empty list of distinct strings, each
// one of choices.
type stringList struct {
	def     []string
	choices []string
	get     func(*Config) []string
	set     func(*Config, []string)
}

func (k stringList) literal() string { return "[ " + quoteAll(k.def) + " ]" }

func (k stringList) reset(c *Config) { k.set(c, slices.Clone(k.def)) }

func (k stringList) decode(c *Config, v value) error {
	if v.kind != kindArray {
		return typeError("a list of strings", v)
	}
	list := make([]string, 0, len(v.elems))
	for i, e := range v.elems {
		if e.kind != kindString {
			return atLine(e.line, fmt.Errorf("element %d must be a string, got %s", i+1, e.describe()))
		}
		list = append(list, e.str)
		if err := k.checkList(list); err != nil {
			return atLine(e.line, err)
		}
	}
	if err := k.checkList(list); err != nil {
		return err
	}
	k.set(c, list)
	return nil
}

func (k stringList) check(c *Config) error { return k.checkList(k.get(c)) }

// checkList checks the list built so far, so that decode can blame the
// element that broke it.
func (k stringList) checkList(list []string) error {
	if len(list) == 0 {
		return errors.New("must not be empty")
	}
	for i, s := range list {
		if !slices.Contains(k.choices, s) {
			return fmt.Errorf("unknown value %s, expected one of %s", strconv.Quote(clip(s)), quoteAll(k.choices))
		}
		if slices.Contains(list[:i], s) {
			return fmt.Errorf("%s is listed twice", strconv.Quote(clip(s)))
		}
	}
	return nil
}

func quoteAll(list []string) string {
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = strconv.Quote(s)
	}
	return strings.Join(quoted, ", ")
}
