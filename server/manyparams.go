// SPDX-License-Identifier: Apache-2.0

package server

import (
	"bytes"
	"strconv"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// manyParams are CheckMany's parameters as the server decodes them. In
// the compact form (what the project's client sends), each object is
// made an acl.Object as it is read, from one reused accessapi.Object: a
// list of 10,000 objects otherwise cost 10,000 attribute maps, a quarter
// of what the call allocated, all for the collector to scan. Any other
// form the library decodes into CheckManyParams, as before.
type manyParams struct {
	accessapi.CheckManyParams `json:",inline"`

	compact bool         // read in the compact form, into objs, n and bad
	objs    []acl.Object // the objects read, up to the first invalid one
	n       int          // how many objects the call names
	bad     error        // the first invalid object's error, if any
}

// UnmarshalCompactJSON reads the compact form (varlink.CompactUnmarshaler).
func (p *manyParams) UnmarshalCompactJSON(b []byte) bool {
	// Room for every object up front, as many as the call has "type"
	// members (in the compact form a quote within a string is escaped, so
	// only member names match): only a hint, without which the slice's
	// growth copied 4 MB per 10,000 objects. It is bounded by what the
	// message could hold (a message of nothing but such names gets room
	// for a few times its size, not sixteen) and by the default object
	// limit.
	hint := min(bytes.Count(b, []byte(typeMember)), len(b)/minObjectBytes, maxObjectsHint)
	p.objs = make([]acl.Object, 0, hint)
	ok := p.CheckManyParams.UnmarshalCompactJSONEach(b, func(o *accessapi.Object) {
		if p.bad == nil {
			if obj, err := parseObject(*o); err != nil {
				p.bad = objectError(p.n, err)
			} else {
				p.objs = append(p.objs, obj)
			}
		}
		p.n++
	})
	if !ok {
		*p = manyParams{}
		return false
	}
	p.compact = true
	return true
}

const (
	// typeMember is how an object's type member starts in the compact form.
	typeMember = `"type":`
	// maxObjectsHint bounds the room made for objects before they are read.
	maxObjectsHint = defaultMaxObjects
	// minObjectBytes is what the hint allows each object of a message:
	// less than most take (a domain with its name and UUID, about 120
	// bytes); a list of smaller ones (connect objects, 34) just grows
	// the slice.
	minObjectBytes = 64
)

// count returns how many objects the call names.
func (p *manyParams) count() int {
	if p.compact {
		return p.n
	}
	return len(p.Objects)
}

// objects returns the call's objects, or the first invalid one's error.
func (p *manyParams) objects() ([]acl.Object, error) {
	if p.compact {
		return p.objs, p.bad
	}
	objs := make([]acl.Object, len(p.Objects))
	for i, o := range p.Objects {
		var err error
		if objs[i], err = parseObject(o); err != nil {
			return nil, objectError(i, err)
		}
	}
	return objs, nil
}

// objectError is the error of a call whose i'th object is invalid.
func objectError(i int, err error) error {
	return InvalidRequest("objects[" + strconv.Itoa(i) + "]: " + reasonOf(err))
}
