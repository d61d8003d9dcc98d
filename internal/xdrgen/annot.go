// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"fmt"
	"regexp"
	"strings"
)

// Annotations are the @-lines of a procedure's comment, as
// src/rpc/gendispatch.pl reads them.
type Annotations struct {
	Generate    string // both, server, client or none
	Priority    string // high or low; empty means low
	ReadStream  string // parameter offset of a read stream, or empty
	WriteStream string // parameter offset of a write stream, or empty
	SparseFlag  string // flag that makes the stream sparse, or empty
	NoACL       bool   // @acl: none
	ACL         []ACLRule
	ACLFilter   []ACLRule
}

// An ACLRule is one @acl or @aclfilter line:
//
//	object:perm
//	object:perm:FLAG          checked when FLAG is set
//	object:perm:A|B           checked when A and B are both set
//	object:perm:!A|B          checked when neither A nor B is set
//	object:perm::param:VALUE  checked when param == VALUE (!VALUE: !=)
type ACLRule struct {
	Text        string
	Object      string
	Perm        string
	Flags       []string
	FlagsNone   bool // the ! form
	Param       string
	Value       string
	ValueNegate bool
}

// annotLine is gendispatch.pl's pattern for an annotation line.
var annotLine = regexp.MustCompile(`^\s*\*\s*@(\w+)\s*:\s*((?:\w|:|!|\|)+)\s*$`)

// parseAnnotations parses a /** ... */ comment.
func parseAnnotations(doc string) (Annotations, error) {
	var a Annotations
	body := strings.TrimSuffix(strings.TrimPrefix(doc, "/**"), "*/")
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t == "*" {
			continue
		}
		m := annotLine.FindStringSubmatch(line)
		if m == nil {
			return a, fmt.Errorf("cannot parse annotation line %q", t)
		}
		if err := a.set(m[1], m[2]); err != nil {
			return a, fmt.Errorf("@%s: %s: %w", m[1], m[2], err)
		}
	}
	return a, nil
}

func (a *Annotations) set(key, val string) error {
	switch key {
	case "generate":
		return setOnce(&a.Generate, val, "both", "server", "client", "none")
	case "priority":
		return setOnce(&a.Priority, val, "high", "low")
	case "readstream":
		return setOnce(&a.ReadStream, val)
	case "writestream":
		return setOnce(&a.WriteStream, val)
	case "sparseflag":
		return setOnce(&a.SparseFlag, val)
	case "acl", "aclfilter":
		return a.addRule(key, val)
	}
	return fmt.Errorf("unknown annotation")
}

func setOnce(dst *string, val string, allowed ...string) error {
	if *dst != "" {
		return fmt.Errorf("given twice")
	}
	if len(allowed) > 0 && !contains(allowed, val) {
		return fmt.Errorf("invalid value (want one of %s)", strings.Join(allowed, ", "))
	}
	*dst = val
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (a *Annotations) addRule(key, val string) error {
	if val == "none" {
		if key != "acl" || len(a.ACL) > 0 {
			return fmt.Errorf("none must be the only @acl")
		}
		a.NoACL = true
		return nil
	}
	if a.NoACL {
		return fmt.Errorf("@acl: none and a rule")
	}
	r, err := parseRule(val)
	if err != nil {
		return err
	}
	if key == "aclfilter" {
		if len(r.Flags) > 0 || r.Param != "" {
			return fmt.Errorf("a filter cannot be conditional")
		}
		a.ACLFilter = append(a.ACLFilter, r)
	} else {
		a.ACL = append(a.ACL, r)
	}
	return nil
}

func parseRule(text string) (ACLRule, error) {
	bits := strings.Split(text, ":")
	r := ACLRule{Text: text, Object: bits[0]}
	if len(bits) < 2 || bits[0] == "" || bits[1] == "" {
		return r, fmt.Errorf("want object:permission")
	}
	r.Perm = bits[1]
	switch len(bits) {
	case 2:
		return r, nil
	case 3:
		return r, r.setFlags(bits[2])
	case 5:
		if bits[3] == "" || bits[4] == "" {
			return r, fmt.Errorf("want object:permission:[flags]:param:value")
		}
		r.Param = bits[3]
		r.Value, r.ValueNegate = strings.CutPrefix(bits[4], "!")
		if bits[2] == "" {
			return r, nil
		}
		return r, r.setFlags(bits[2])
	}
	return r, fmt.Errorf("want 2, 3 or 5 colon-separated parts")
}

func (r *ACLRule) setFlags(s string) error {
	s, r.FlagsNone = strings.CutPrefix(s, "!")
	r.Flags = strings.Split(s, "|")
	for _, f := range r.Flags {
		if f == "" || strings.Contains(f, "!") {
			return fmt.Errorf("bad flag list")
		}
	}
	return nil
}
