// SPDX-License-Identifier: Apache-2.0

package proto

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// A Rule is one @acl annotation: a permission the caller needs, perhaps
// only when the call's flags or a parameter say so. libvirt checks it in
// the driver's generated vir*EnsureACL function (src/access/
// viraccessapicheck.c, written by gendispatch.pl).
type Rule struct {
	perm acl.Permission
	def  ruleDef
}

// Permission returns the permission the rule requires.
func (r Rule) Permission() acl.Permission { return r.perm }

// String returns the rule as the annotation wrote it, such as
// "domain:read_secure:VIR_DOMAIN_XML_SECURE".
func (r Rule) String() string { return r.def.text }

// Conditional reports whether the rule applies only to some calls.
func (r Rule) Conditional() bool { return r.def.flags != 0 || r.def.param != "" }

// FlagCondition returns the flags the rule tests: it applies when all of
// mask are set in the call's flags, or with none, when none is. ok is
// false for a rule without a flag condition.
func (r Rule) FlagCondition() (mask uint32, none, ok bool) {
	return r.def.flags, r.def.flagsNone, r.def.flags != 0
}

// ParamCondition returns the parameter the rule tests: it applies when
// the call's field equals value, or with not, when it differs. ok is
// false for a rule without a parameter condition.
func (r Rule) ParamCondition() (field string, value uint32, not, ok bool) {
	return r.def.param, r.def.value, r.def.valueNot, r.def.param != ""
}

// Applies reports whether the rule applies to a call with the decoded
// arguments args, as libvirt evaluates it:
//
//	object:perm:A|B    (flags & (A|B)) == (A|B)
//	object:perm:!A|B   (flags & (A|B)) == 0
//	object:perm::p:V   p == V   (!V: p != V)
//
// It fails if args are not the procedure's arguments.
func (r Rule) Applies(args Message) (bool, error) {
	if r.def.flags != 0 {
		flags, ok := r.def.flagsOf(args)
		if !ok {
			return false, fmt.Errorf("rule %s: arguments of type %T", r.def.text, args)
		}
		want := r.def.flags
		if r.def.flagsNone {
			want = 0
		}
		if flags&r.def.flags != want {
			return false, nil
		}
	}
	if r.def.param != "" {
		v, ok := r.def.paramOf(args)
		if !ok {
			return false, fmt.Errorf("rule %s: arguments of type %T", r.def.text, args)
		}
		if (v == r.def.value) == r.def.valueNot {
			return false, nil
		}
	}
	return true, nil
}
