// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"fmt"
	"math"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// kind is what a value constraint checks.
type ckind int

const (
	cEnum       ckind = iota // one of the listed values, exactly
	cInt                     // a decimal integer in [min, max]
	cSize                    // an integer scaled by the element's unit attribute, in KiB, in [min, max]
	cText                    // printable text of at most max bytes
	cRegex                   // matches the whole value
	cPool                    // one of the policy's pools (recorded in Uses)
	cVolume                  // a volume name (recorded in Uses with its pool)
	cNetwork                 // one of the policy's networks (recorded in Uses)
	cLocalhost               // a loopback address or "localhost"
	cDomainName              // the domain's name (recorded in Uses)
	cDomainUUID              // the domain's UUID, 8-4-4-4-12 hex (recorded in Uses)
)

// constraint is one attribute's or one element text's allowed values.
type constraint struct {
	kind     ckind
	enum     []string
	min, max int64
	re       *regexp.Regexp
	src      string // as written in the file
}

// defaultTextMax bounds free text when the file gives no bound.
const defaultTextMax = 1024

// nameRE is what the default policy allows as a name of a domain or a
// volume: no slash, no leading dot or dash, no space or control character.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$`)

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// parseConstraint reads a constraint as the file writes it: an array of
// strings is an enumeration; a string is a type, with a range or pattern
// where the type takes one.
func parseConstraint(v any) (constraint, error) {
	switch t := v.(type) {
	case []any:
		c := constraint{kind: cEnum, src: fmt.Sprint(t)}
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return c, fmt.Errorf("enumeration %v: values must be strings", t)
			}
			c.enum = append(c.enum, s)
		}
		if len(c.enum) == 0 {
			return c, fmt.Errorf("empty enumeration")
		}
		return c, nil
	case string:
		return parseTyped(t)
	}
	return constraint{}, fmt.Errorf("constraint %v: want a list of values or a type string", v)
}

var plainKinds = map[string]ckind{
	"pool": cPool, "volume": cVolume, "network": cNetwork, "localhost": cLocalhost,
	"domain-name": cDomainName, "domain-uuid": cDomainUUID,
}

func parseTyped(s string) (constraint, error) {
	word, arg, _ := strings.Cut(s, " ")
	c := constraint{src: s}
	if k, ok := plainKinds[word]; ok && arg == "" {
		c.kind = k
		return c, nil
	}
	switch word {
	case "int", "size":
		c.kind = cInt
		if word == "size" {
			c.kind = cSize
		}
		return c, c.parseRange(arg, word == "size")
	case "text":
		c.kind, c.max = cText, defaultTextMax
		if arg == "" {
			return c, nil
		}
		return c, c.parseRange(arg, false)
	case "regex":
		re, err := regexp.Compile(`^(?:` + arg + `)$`)
		if err != nil {
			return c, fmt.Errorf("regex %q: %v", arg, err)
		}
		c.kind, c.re = cRegex, re
		return c, nil
	}
	return c, fmt.Errorf("unknown constraint %q (want a list of values, or int MIN..MAX, size MIN..MAX, text [..MAX], regex RE, pool, volume, network, localhost, domain-name, domain-uuid)", s)
}

// parseRange reads "MIN..MAX", either side optional.
func (c *constraint) parseRange(arg string, size bool) error {
	c.min, c.max = math.MinInt64, math.MaxInt64
	if c.kind == cText {
		c.min = 0
	}
	if arg == "" {
		return nil
	}
	lo, hi, ok := strings.Cut(arg, "..")
	if !ok {
		return fmt.Errorf("range %q: want MIN..MAX", arg)
	}
	var err error
	if lo != "" {
		if c.min, err = parseBound(lo, size); err != nil {
			return err
		}
	}
	if hi != "" {
		if c.max, err = parseBound(hi, size); err != nil {
			return err
		}
	}
	if c.min > c.max {
		return fmt.Errorf("range %q: MIN above MAX", arg)
	}
	return nil
}

// parseBound reads a bound; sizes take a unit (KiB, MiB, GiB, TiB) and are
// kept in KiB.
func parseBound(s string, size bool) (int64, error) {
	mult := int64(1)
	if size {
		units := map[string]int64{"KiB": 1, "MiB": 1 << 10, "GiB": 1 << 20, "TiB": 1 << 30}
		for u, m := range units {
			if strings.HasSuffix(s, u) {
				s, mult = strings.TrimSuffix(s, u), m
				break
			}
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return 0, fmt.Errorf("bound %q is not an integer", s)
	}
	return n * mult, nil
}

// check reports what is wrong with value, or "" when it passes. unit is
// the element's unit attribute, for sizes.
func (c *constraint) check(p *Policy, value, unit string) string {
	switch c.kind {
	case cEnum:
		if !slices.Contains(c.enum, value) {
			return fmt.Sprintf("%q is not one of %s", value, strings.Join(c.enum, ", "))
		}
	case cInt:
		return c.checkInt(value, 1)
	case cSize:
		scale, ok := unitScale(unit)
		if !ok {
			return fmt.Sprintf("unit %q is not one the policy knows", unit)
		}
		return c.checkInt(value, scale)
	case cText:
		return checkText(value, c.max)
	case cRegex:
		if !c.re.MatchString(value) {
			return fmt.Sprintf("%q does not match %s", value, c.src)
		}
	case cPool:
		return member(value, p.pools, "an approved storage pool (pools)")
	case cNetwork:
		return member(value, p.networks, "an approved network (networks)")
	case cVolume, cDomainName:
		if !nameRE.MatchString(value) {
			return fmt.Sprintf("%q is not a plain name (letters, digits, _ . + -; at most 128)", value)
		}
	case cDomainUUID:
		if !uuidRE.MatchString(value) {
			return fmt.Sprintf("%q is not a UUID written 8-4-4-4-12", value)
		}
	case cLocalhost:
		return checkLocalhost(value)
	}
	return ""
}

func member(v string, set []string, what string) string {
	if !slices.Contains(set, v) {
		return fmt.Sprintf("%q is not %s", v, what)
	}
	return ""
}

func (c *constraint) checkInt(value string, scale int64) string {
	digits := strings.TrimPrefix(value, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return fmt.Sprintf("%q is not a decimal integer", value)
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || (scale > 1 && (n > math.MaxInt64/scale || n < 0)) {
		return fmt.Sprintf("%q is out of range", value)
	}
	n *= scale
	if n < c.min || n > c.max {
		return fmt.Sprintf("%s is outside %s", value, c.src)
	}
	return ""
}

// unitScale is the size of unit in bytes, divided down to KiB as libvirt
// rounds memory; the spellings are libvirt's (virScaleInteger), exactly.
func unitScale(unit string) (int64, bool) {
	scales := map[string]int64{
		"": 1024, "KiB": 1024, "k": 1024, "K": 1024, "MiB": 1 << 20, "M": 1 << 20, "m": 1 << 20,
		"GiB": 1 << 30, "G": 1 << 30, "g": 1 << 30, "TiB": 1 << 40, "T": 1 << 40,
		"KB": 1000, "MB": 1000000, "GB": 1000000000, "b": 1, "bytes": 1, "B": 1,
	}
	s, ok := scales[unit]
	if !ok {
		return 0, false
	}
	if s < 1024 {
		return 1, true // bytes counted as KiB: never fewer KiB than there are
	}
	return (s + 1023) / 1024, true // rounded up: never fewer KiB than there are
}

func checkText(v string, max int64) string {
	if int64(len(v)) > max {
		return fmt.Sprintf("text of %d bytes, more than %d", len(v), max)
	}
	if !utf8.ValidString(v) {
		return "text is not UTF-8"
	}
	for _, r := range v {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return fmt.Sprintf("control character %U in text", r)
		}
	}
	return ""
}

func checkLocalhost(v string) string {
	if v == "localhost" {
		return ""
	}
	ip := net.ParseIP(v)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Sprintf("%q is not a loopback address (127.0.0.1, ::1, localhost)", v)
	}
	return ""
}
