// SPDX-License-Identifier: Apache-2.0

package acl

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind says what values an identity attribute takes.
type Kind uint8

// The attribute kinds.
const (
	KindName Kind = iota + 1 // an object name: printable text
	KindUUID                 // a UUID, 8-4-4-4-12 hex digits, canonically lower case
	KindMAC                  // a MAC address, six hex pairs, canonically lower case
	KindText                 // other printable text (volume keys, secret usage)
)

type attrFlag uint8

const (
	required attrFlag = 1 << iota // libvirt always sends it
	identity                      // part of what identifies one object
)

// Attr is one polkit detail key that libvirt sends for an object type.
type Attr struct {
	Key   string
	Kind  Kind
	flags attrFlag
}

// Required reports whether libvirt always sends the attribute.
func (a Attr) Required() bool { return a.flags&required != 0 }

// Identity reports whether the attribute is part of what tells one object
// of its type from another (its UUID, or a canonical name where the type has
// no UUID).
func (a Attr) Identity() bool { return a.flags&identity != 0 }

// NullDetail is the value libvirt's polkit driver sends for a detail
// whose value is NULL: a volume created without a <key>, a binding
// without a <linkdev>, an interface without a MAC. virPolkitCheckAuth
// (src/util/virpolkit.c) adds each pair with g_variant_builder_add
// "{ss}", and GLib substitutes this text for a NULL string (after a
// critical warning); polkit rules see it as the detail's value.
const NullDetail = "[Invalid UTF-8]"

// MaxValueLen bounds any attribute value (a storage volume key is a path, so
// it allows PATH_MAX).
const MaxValueLen = 4096

// canonical validates v for the attribute's kind and returns the form
// libvirt itself would send (lower-case UUIDs and MACs).
func (a Attr) canonical(v string) (string, error) {
	switch {
	case v == "":
		return "", fmt.Errorf("%s: empty value", a.Key)
	case len(v) > MaxValueLen:
		return "", fmt.Errorf("%s: value of %d bytes exceeds the limit of %d", a.Key, len(v), MaxValueLen)
	}
	switch a.Kind {
	case KindUUID:
		if !isHexPattern(v, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx") {
			return "", fmt.Errorf("%s: malformed UUID %q (want 8-4-4-4-12 hex digits)", a.Key, v)
		}
		return strings.ToLower(v), nil
	case KindMAC:
		if v == NullDetail {
			return v, nil
		}
		if !isHexPattern(v, "xx:xx:xx:xx:xx:xx") {
			return "", fmt.Errorf("%s: malformed MAC address %q (want six hex pairs separated by colons)", a.Key, v)
		}
		return strings.ToLower(v), nil
	}
	if err := checkText(v); err != nil {
		return "", fmt.Errorf("%s: %w", a.Key, err)
	}
	return v, nil
}

// isHexPattern reports whether s matches pattern, where 'x' stands for any
// hex digit and every other byte for itself.
func isHexPattern(s, pattern string) bool {
	if len(s) != len(pattern) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if pattern[i] == 'x' {
			if !isHex(s[i]) {
				return false
			}
		} else if s[i] != pattern[i] {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// checkText accepts valid UTF-8 without control characters: D-Bus strings
// cannot carry NUL or invalid UTF-8, and control characters in a name are
// never legitimate.
func checkText(v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("value is not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fmt.Errorf("value contains control character %U", r)
		}
	}
	return nil
}
