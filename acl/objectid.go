// SPDX-License-Identifier: Apache-2.0

package acl

import (
	"crypto/sha256"
	"fmt"
	"iter"
	"sort"
	"strconv"
	"strings"
)

// DriverKey is the polkit detail that names the libvirt driver owning an
// object ("QEMU", "network", "storage", ...). libvirt sends it first, for
// every object type.
const DriverKey = "connect_driver"

// maxDriverLen bounds a driver name; libvirt's are short identifiers.
const maxDriverLen = 64

// Object is one validated libvirt object: its type, the driver that owns it
// and its identity attributes, in the canonical form libvirt sends to polkit.
// Build one with NewObject; the zero value is invalid.
type Object struct {
	typ    ObjectType
	driver string
	values []string // parallel to typ's attrs; "" when absent

	// key and identity are computed once: they are on every decision's
	// path, and a cache holds one of each per entry.
	key, identity Digest
}

// Digest is a SHA-256 digest of an object's canonical encoding: fixed-size
// and comparable, so caches key on it without holding the encoding. Finding
// two objects with one digest means breaking SHA-256.
type Digest [sha256.Size]byte

// Detail is one polkit detail (key and value) in the order libvirt sends it.
type Detail struct{ Key, Value string }

// NewObject validates and canonicalises an object of type t owned by driver
// with the given identity attributes (polkit detail keys, without
// connect_driver). Unknown keys, missing required keys and malformed values
// are errors naming the key.
func NewObject(t ObjectType, driver string, attrs map[string]string) (Object, error) {
	if !t.Valid() {
		return Object{}, fmt.Errorf("invalid object type %d", t)
	}
	if err := checkDriver(driver); err != nil {
		return Object{}, fmt.Errorf("%s: %w", t, err)
	}
	defs := t.def().attrs
	o := Object{typ: t, driver: driver, values: make([]string, len(defs))}
	seen := 0
	for i, a := range defs {
		v, ok := attrs[a.Key]
		if !ok {
			if a.Required() {
				return Object{}, fmt.Errorf("%s: missing attribute %s", t, a.Key)
			}
			continue
		}
		seen++
		cv, err := a.canonical(v)
		if err != nil {
			return Object{}, fmt.Errorf("%s: %w", t, err)
		}
		o.values[i] = cv
	}
	if seen != len(attrs) {
		return Object{}, unknownAttrError(t, attrs)
	}
	if t == Secret && o.usageCount() > 1 {
		return Object{}, fmt.Errorf("secret: at most one secret_usage_* attribute may be given")
	}
	o.digest()
	return o, nil
}

// digest computes o's key and identity.
func (o *Object) digest() {
	var buf [512]byte // most objects' encodings fit: no allocation then
	o.key = sha256.Sum256(o.encode(buf[:0], false))
	o.identity = sha256.Sum256(o.encode(buf[:0], true))
}

func checkDriver(d string) error {
	if d == "" {
		return fmt.Errorf("missing %s", DriverKey)
	}
	if len(d) > maxDriverLen {
		return fmt.Errorf("%s of %d bytes exceeds the limit of %d", DriverKey, len(d), maxDriverLen)
	}
	for _, c := range []byte(d) {
		if !(isHex(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("malformed %s %q (letters, digits, '-', '_' and '.' only)", DriverKey, d)
		}
	}
	return nil
}

func unknownAttrError(t ObjectType, attrs map[string]string) error {
	valid := map[string]bool{}
	var names []string
	for _, a := range t.def().attrs {
		valid[a.Key] = true
		names = append(names, a.Key)
	}
	var unknown []string
	for k := range attrs {
		if !valid[k] {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	sort.Strings(unknown)
	if len(names) == 0 {
		return fmt.Errorf("%s: unknown attribute %s (this type takes none besides %s)", t, strings.Join(unknown, ", "), DriverKey)
	}
	return fmt.Errorf("%s: unknown attribute %s (valid: %s)", t, strings.Join(unknown, ", "), strings.Join(names, ", "))
}

func (o Object) usageCount() int {
	n := 0
	for i, a := range o.typ.def().attrs {
		if strings.HasPrefix(a.Key, "secret_usage_") && o.values[i] != "" {
			n++
		}
	}
	return n
}

// Anonymous returns o without its identity attributes: its type and
// driver only, as polkit sees an object a caller may not name (its
// details are then absent). It is a distinct object for caching: no
// object built by NewObject has its key or identity.
func (o Object) Anonymous() Object {
	a := Object{typ: o.typ, driver: o.driver, values: make([]string, len(o.values))}
	a.digest()
	return a
}

// Valid reports whether o was built by NewObject.
func (o Object) Valid() bool { return o.typ.Valid() && o.driver != "" }

// Type returns the object's type.
func (o Object) Type() ObjectType { return o.typ }

// Driver returns the libvirt driver that owns the object.
func (o Object) Driver() string { return o.driver }

// Get returns the value of an identity attribute, if present.
func (o Object) Get(key string) (string, bool) {
	for i, a := range o.typ.def().attrs {
		if a.Key == key && o.values[i] != "" {
			return o.values[i], true
		}
	}
	return "", false
}

// Details returns the polkit details libvirt sends for the object:
// connect_driver first, then the present attributes in libvirt's order.
func (o Object) Details() []Detail {
	ds := make([]Detail, 0, o.DetailCount())
	for k, v := range o.AllDetails() {
		ds = append(ds, Detail{k, v})
	}
	return ds
}

// AllDetails yields what Details returns, key and value, without
// building a slice: for callers that copy the details into their own.
func (o Object) AllDetails() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		if !yield(DriverKey, o.driver) {
			return
		}
		for i, a := range o.typ.def().attrs {
			if o.values[i] != "" && !yield(a.Key, o.values[i]) {
				return
			}
		}
	}
}

// DetailCount returns how many details Details returns.
func (o Object) DetailCount() int {
	n := 1
	for _, v := range o.values {
		if v != "" {
			n++
		}
	}
	return n
}

// Name returns the object's human name (domain_name, pool_name, ...) or ""
// for types without one.
func (o Object) Name() string {
	for i, a := range o.typ.def().attrs {
		if a.Kind == KindName && o.values[i] != "" {
			return o.values[i]
		}
	}
	return ""
}

// UUID returns the object's own UUID, or "" for types without one.
func (o Object) UUID() string {
	for i, a := range o.typ.def().attrs {
		if a.Kind == KindUUID && a.Identity() {
			return o.values[i]
		}
	}
	return ""
}

// Identity returns the digest of what names exactly one object: its type,
// driver and identity attributes (the UUID, or a canonical name where the
// type has none). Two distinct objects never share an identity.
func (o Object) Identity() Digest { return o.identity }

// Key returns the digest of everything polkit sees of the object (type,
// driver and every detail). Decisions are cached under it rather than under
// Identity alone: a polkit rule may look at any detail, such as domain_name,
// so a decision made for one set of details must never answer a request
// carrying another.
func (o Object) Key() Digest { return o.key }

// encode appends type and driver, then each attribute (only the identity
// attributes with identityOnly), every field length-prefixed so that no
// value can imitate a separator.
func (o Object) encode(b []byte, identityOnly bool) []byte {
	field := func(b []byte, s string) []byte {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		return append(b, s...)
	}
	b = field(b, o.typ.String())
	b = field(b, o.driver)
	for i, a := range o.typ.def().attrs {
		if !identityOnly || a.Identity() {
			b = field(b, o.values[i])
		}
	}
	return b
}
