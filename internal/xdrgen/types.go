// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"fmt"
	"math"
)

// tkind is the kind of a resolved type.
type tkind int

const (
	tPrim        tkind = iota // int, unsigned hyper, bool, ...
	tString                   // string<N>
	tOpaque                   // opaque<N>
	tFixedOpaque              // opaque[N]
	tArray                    // T<N>
	tFixedArray               // T[N]
	tOptional                 // T *
	tNamed                    // a struct, union or enum
)

// A texpr is a declaration's type with typedefs resolved.
type texpr struct {
	kind    tkind
	prim    string // tPrim: the builtin's name
	n       uint32 // length or maximum
	nName   string // the constant n was written as, if any
	elem    *texpr // tArray, tFixedArray, tOptional
	named   string // tNamed: the definition's name
	isEnum  bool   // tNamed: an enum
	comment string // how the .x file wrote it
}

// resolve returns the type of d.
func (s *Spec) resolve(d Decl) (*texpr, error) {
	return s.resolveDepth(d, 0)
}

func (s *Spec) resolveDepth(d Decl, depth int) (*texpr, error) {
	if depth > 16 {
		return nil, fmt.Errorf("typedef %s: nested too deeply", d.Type)
	}
	if d.Type == "string" || d.Type == "opaque" {
		return s.sized(d)
	}
	base, err := s.baseType(d.Type, depth)
	if err != nil {
		return nil, err
	}
	switch d.Shape {
	case Optional:
		return &texpr{kind: tOptional, elem: base}, nil
	case Fixed, Variable:
		t, err := s.sized(d)
		if err != nil {
			return nil, err
		}
		t.elem = base
		return t, nil
	}
	return base, nil
}

func (s *Spec) baseType(name string, depth int) (*texpr, error) {
	if b, ok := builtin([]string{name}); ok && b != "void" {
		return &texpr{kind: tPrim, prim: b}, nil
	}
	switch d := s.defs[name].(type) {
	case *Typedef:
		return s.resolveDepth(d.Decl, depth+1)
	case *Struct, *Union:
		return &texpr{kind: tNamed, named: name}, nil
	case *Enum:
		return &texpr{kind: tNamed, named: name, isEnum: true}, nil
	}
	return nil, fmt.Errorf("unknown type %q", name)
}

// sized handles the length of string, opaque and array declarations.
func (s *Spec) sized(d Decl) (*texpr, error) {
	t := &texpr{n: math.MaxUint32, nName: d.Size.Name}
	switch {
	case d.Type == "string":
		t.kind = tString
	case d.Type == "opaque" && d.Shape == Fixed:
		t.kind = tFixedOpaque
	case d.Type == "opaque":
		t.kind = tOpaque
	case d.Shape == Fixed:
		t.kind = tFixedArray
	default:
		t.kind = tArray
	}
	if d.Unbounded {
		t.nName = ""
		return t, nil
	}
	n, err := s.Value(d.Size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	if n < 0 || n > math.MaxUint32 || (d.Shape == Fixed && n > 1<<20) {
		return nil, fmt.Errorf("%s: size %d out of range", d.Name, n)
	}
	t.n = uint32(n)
	return t, nil
}

// minSize returns the fewest bytes a value of t takes on the wire. It
// fails on a recursive type: generated decoders recurse only as deep as
// the .x types nest, which must be finite.
func (s *Spec) minSize(t *texpr, visiting map[string]bool) (int, error) {
	switch t.kind {
	case tPrim:
		if t.prim == "hyper" || t.prim == "unsigned hyper" || t.prim == "double" {
			return 8, nil
		}
		return 4, nil
	case tFixedOpaque:
		return int(t.n+3) / 4 * 4, nil
	case tFixedArray:
		n, err := s.minSize(t.elem, visiting)
		return n * int(t.n), err
	case tString, tOpaque:
		return 4, nil
	case tArray, tOptional:
		// An empty array or absent value is 4 bytes, but the element
		// type must still be finite.
		_, err := s.minSize(t.elem, visiting)
		return 4, err
	}
	return s.namedMinSize(t.named, visiting)
}

func (s *Spec) namedMinSize(name string, visiting map[string]bool) (int, error) {
	if visiting[name] {
		return 0, fmt.Errorf("type %s is recursive", name)
	}
	visiting[name] = true
	defer delete(visiting, name)
	switch d := s.defs[name].(type) {
	case *Struct:
		return s.structMinSize(d, visiting)
	case *Union:
		return s.unionMinSize(d, visiting)
	}
	return 4, nil // enum
}

func (s *Spec) structMinSize(d *Struct, visiting map[string]bool) (int, error) {
	total := 0
	for _, f := range d.Fields {
		n, err := s.declMinSize(f, visiting)
		if err != nil {
			return 0, fmt.Errorf("%s.%s: %w", d.Name, f.Name, err)
		}
		total += n
	}
	return total, nil
}

func (s *Spec) unionMinSize(d *Union, visiting map[string]bool) (int, error) {
	arms := make([]Decl, 0, len(d.Arms)+1)
	for _, a := range d.Arms {
		arms = append(arms, a.Decl)
	}
	if d.Default != nil {
		arms = append(arms, *d.Default)
	}
	least := math.MaxInt32
	for _, a := range arms {
		n, err := s.declMinSize(a, visiting)
		if err != nil {
			return 0, fmt.Errorf("%s.%s: %w", d.Name, a.Name, err)
		}
		least = min(least, n)
	}
	return 4 + least, nil
}

func (s *Spec) declMinSize(d Decl, visiting map[string]bool) (int, error) {
	if d.Type == "void" {
		return 0, nil
	}
	t, err := s.resolve(d)
	if err != nil {
		return 0, err
	}
	return s.minSize(t, visiting)
}
