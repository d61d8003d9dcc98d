// SPDX-License-Identifier: Apache-2.0

package accessapi

import (
	"slices"

	"github.com/virt-acl-helper/virt-acl-helper/internal/compactjson"
)

// The types of the decision calls encode and decode their compact JSON
// themselves (see package compactjson for why): AppendCompactJSON writes
// the bytes the JSON library would, or reports false; UnmarshalCompactJSON
// reads what AppendCompactJSON writes (members in any order), or reports
// false and leaves the value zero, and the library decodes it instead.

// AppendCompactJSON appends o as the JSON library marshals it.
func (o Object) AppendCompactJSON(b []byte) ([]byte, bool) {
	b = append(b, `{"type":`...)
	b, ok1 := compactjson.AppendString(b, o.Type)
	b = append(b, `,"driver":`...)
	b, ok2 := compactjson.AppendString(b, o.Driver)
	ok := ok1 && ok2
	if len(o.Attributes) > 0 {
		b = append(b, `,"attributes":{`...)
		var buf [8]string
		names := buf[:0]
		for name := range o.Attributes {
			names = append(names, name)
		}
		slices.Sort(names) // as the library's deterministic option does
		for i, name := range names {
			if i > 0 {
				b = append(b, ',')
			}
			var okName, okValue bool
			b, okName = compactjson.AppendName(b, name)
			b, okValue = compactjson.AppendString(b, o.Attributes[name])
			ok = ok && okName && okValue
		}
		b = append(b, '}')
	}
	return append(b, '}'), ok
}

// read reads an object into o, which must be zero; its attributes go
// into reuse, cleared, if it is not nil.
func (o *Object) read(r *compactjson.Reader, reuse map[string]string) {
	var seen uint64
	for n := 0; r.Member(&n); {
		switch r.Field(&seen, "type", "driver", "attributes") {
		case 0:
			o.Type = r.Interned()
		case 1:
			o.Driver = r.Interned()
		case 2:
			o.Attributes = readAttributes(r, reuse)
		}
	}
}

// readAttributes reads an object's attributes into m, cleared, or a new
// map if m is nil.
func readAttributes(r *compactjson.Reader, m map[string]string) map[string]string {
	if m == nil {
		m = make(map[string]string, 2)
	}
	clear(m)
	for n := 0; r.Member(&n); {
		name := r.InternedName()
		if _, dup := m[name]; dup {
			r.Fail()
		}
		m[name] = r.String()
	}
	return m
}

// AppendCompactJSON appends s as the JSON library marshals it.
func (s Subject) AppendCompactJSON(b []byte) []byte {
	b = append(b, `{"pid":`...)
	b = compactjson.AppendInt(b, s.PID)
	if s.UID != nil {
		b = append(b, `,"uid":`...)
		b = compactjson.AppendInt(b, *s.UID)
	}
	if s.StartTime != nil {
		b = append(b, `,"startTime":`...)
		b = compactjson.AppendUint(b, *s.StartTime)
	}
	return append(b, '}')
}

func readSubject(r *compactjson.Reader) *Subject {
	s := new(Subject)
	var seen uint64
	for n := 0; r.Member(&n); {
		switch r.Field(&seen, "pid", "uid", "startTime") {
		case 0:
			s.PID = r.Int64()
		case 1:
			uid := r.Int64()
			s.UID = &uid
		case 2:
			st := r.Uint64()
			s.StartTime = &st
		}
	}
	return s
}

// AppendCompactJSON appends p as the JSON library marshals it.
func (p CheckParams) AppendCompactJSON(b []byte) ([]byte, bool) {
	b = append(b, `{"object":`...)
	b, ok1 := p.Object.AppendCompactJSON(b)
	b = append(b, `,"permission":`...)
	b, ok2 := compactjson.AppendString(b, p.Permission)
	if p.Subject != nil {
		b = append(b, `,"subject":`...)
		b = p.Subject.AppendCompactJSON(b)
	}
	return append(b, '}'), ok1 && ok2
}

// UnmarshalCompactJSON decodes b, the compact form of CheckParams.
func (p *CheckParams) UnmarshalCompactJSON(b []byte) bool {
	rd := compactjson.NewReader(b)
	r := &rd
	var seen uint64
	for n := 0; r.Member(&n); {
		switch r.Field(&seen, "object", "permission", "subject") {
		case 0:
			p.Object.read(r, nil)
		case 1:
			p.Permission = r.String()
		case 2:
			p.Subject = readSubject(r)
		}
	}
	return settle(r, p)
}

// settle reports whether r read all of its input in the compact form,
// and otherwise zeroes *v for the library to decode into.
func settle[T any](r *compactjson.Reader, v *T) bool {
	if r.Done() {
		return true
	}
	var zero T
	*v = zero
	return false
}

// AppendCompactJSON appends p as the JSON library marshals it.
func (p CheckManyParams) AppendCompactJSON(b []byte) ([]byte, bool) {
	b = slices.Grow(b, 64+len(p.Objects)*128)
	b = append(b, `{"permission":`...)
	b, ok := compactjson.AppendString(b, p.Permission)
	b = append(b, `,"objects":[`...)
	for i, o := range p.Objects {
		if i > 0 {
			b = append(b, ',')
		}
		var okObject bool
		b, okObject = o.AppendCompactJSON(b)
		ok = ok && okObject
	}
	b = append(b, ']')
	if p.Subject != nil {
		b = append(b, `,"subject":`...)
		b = p.Subject.AppendCompactJSON(b)
	}
	return append(b, '}'), ok
}

// UnmarshalCompactJSON decodes b, the compact form of CheckManyParams.
func (p *CheckManyParams) UnmarshalCompactJSON(b []byte) bool {
	return p.readCompact(b, func(r *compactjson.Reader) { p.Objects = readObjects(r) })
}

// UnmarshalCompactJSONEach is UnmarshalCompactJSON for a reader that
// takes the objects as they come rather than all at once: it hands each
// to each, in order, leaving p.Objects nil. The Object given is reused
// for the next one, its Attributes map with it, so each must copy what
// it keeps (the strings themselves are its to keep). When it reports
// false, the objects already handed over are void: the library decodes
// the whole call instead. A server turning each object into its own type
// saves a map per object this way.
func (p *CheckManyParams) UnmarshalCompactJSONEach(b []byte, each func(o *Object)) bool {
	return p.readCompact(b, func(r *compactjson.Reader) { eachObject(r, true, each) })
}

// readCompact reads the compact form of CheckManyParams, the objects
// with objects.
func (p *CheckManyParams) readCompact(b []byte, objects func(r *compactjson.Reader)) bool {
	rd := compactjson.NewReader(b)
	r := &rd
	var seen uint64
	for n := 0; r.Member(&n); {
		switch r.Field(&seen, "permission", "objects", "subject") {
		case 0:
			p.Permission = r.String()
		case 1:
			objects(r)
		case 2:
			p.Subject = readSubject(r)
		}
	}
	return settle(r, p)
}

func readObjects(r *compactjson.Reader) []Object {
	objs := []Object{}
	eachObject(r, false, func(o *Object) { objs = append(objs, *o) })
	return objs
}

// eachObject reads an array of objects and hands each to fn; with reuse,
// one Object and one attribute map serve them all.
func eachObject(r *compactjson.Reader, reuse bool, fn func(o *Object)) {
	var o Object
	var attrs map[string]string
	for n := 0; r.Elem(&n); {
		o = Object{}
		o.read(r, attrs)
		if reuse && o.Attributes != nil {
			attrs = o.Attributes
		}
		fn(&o)
	}
}

// AppendCompactJSON appends res as the JSON library marshals it.
func (res Result) AppendCompactJSON(b []byte) ([]byte, bool) {
	b = append(b, `{"allowed":`...)
	b = compactjson.AppendBool(b, res.Allowed)
	b = append(b, `,"cached":`...)
	b = compactjson.AppendBool(b, res.Cached)
	b = append(b, `,"driver":`...)
	b, ok := compactjson.AppendString(b, res.Driver)
	return append(b, '}'), ok
}

func (res *Result) read(r *compactjson.Reader) {
	var seen uint64
	for n := 0; r.Member(&n); {
		switch r.Field(&seen, "allowed", "cached", "driver") {
		case 0:
			res.Allowed = r.Bool()
		case 1:
			res.Cached = r.Bool()
		case 2:
			res.Driver = r.Interned()
		}
	}
}

// UnmarshalCompactJSON decodes b, the compact form of Result.
func (res *Result) UnmarshalCompactJSON(b []byte) bool {
	rd := compactjson.NewReader(b)
	r := &rd
	res.read(r)
	return settle(r, res)
}

// AppendCompactJSON appends m as the JSON library marshals it.
func (m CheckManyReply) AppendCompactJSON(b []byte) ([]byte, bool) {
	b = slices.Grow(b, 16+len(m.Results)*48)
	b = append(b, `{"results":[`...)
	ok := true
	for i, res := range m.Results {
		if i > 0 {
			b = append(b, ',')
		}
		var okResult bool
		b, okResult = res.AppendCompactJSON(b)
		ok = ok && okResult
	}
	return append(b, "]}"...), ok
}

// UnmarshalCompactJSON decodes b, the compact form of CheckManyReply.
func (m *CheckManyReply) UnmarshalCompactJSON(b []byte) bool {
	rd := compactjson.NewReader(b)
	r := &rd
	var seen uint64
	for n := 0; r.Member(&n); {
		if r.Field(&seen, "results") != 0 {
			break
		}
		m.Results = []Result{}
		for k := 0; r.Elem(&k); {
			m.Results = append(m.Results, Result{})
			m.Results[len(m.Results)-1].read(r)
		}
	}
	return settle(r, m)
}
