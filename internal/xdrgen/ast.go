// SPDX-License-Identifier: Apache-2.0

package xdrgen

// A Value is an integer written in a .x file: a literal or a constant's name.
type Value struct {
	Name string // constant name; empty for a literal
	Num  int64  // the literal's value
	Text string // the literal as written
}

// Shape says how a declaration repeats its type.
type Shape int

// The shapes of a declaration.
const (
	Scalar   Shape = iota // type name
	Fixed                 // type name[N]
	Variable              // type name<N> or type name<>
	Optional              // type *name
)

// A Decl is one declaration: a struct field, a union arm, a typedef.
type Decl struct {
	Name      string
	Type      string // a builtin ("int", "unsigned hyper", "string", "opaque", "void", ...) or a defined name
	Shape     Shape
	Size      Value // the length (Fixed) or maximum (Variable)
	Unbounded bool  // Variable with no maximum: <>
	Line      int
}

// A Def is one top-level definition.
type Def interface{ DefName() string }

// A Const is "const NAME = value;".
type Const struct {
	Name  string
	Value Value
	Line  int
}

// An Enum is "enum NAME { A = 1, ... };".
type Enum struct {
	Name    string
	Members []EnumMember
	Line    int
}

// An EnumMember is one name of an enum, with the annotation comment that
// preceded it (used for procedure enums).
type EnumMember struct {
	Name  string
	Value Value
	Doc   string
	Line  int
}

// A Struct is "struct NAME { decl; ... };".
type Struct struct {
	Name   string
	Fields []Decl
	Line   int
}

// A Union is "union NAME switch (decl) { case V: decl; ... };".
type Union struct {
	Name    string
	Disc    Decl
	Arms    []Arm
	Default *Decl // nil: an unknown discriminant is an error
	Line    int
}

// An Arm is the cases sharing one declaration (Type "void" for none).
type Arm struct {
	Cases []Value
	Decl  Decl
}

// A Typedef is "typedef decl;".
type Typedef struct {
	Decl Decl
}

// DefName returns the defined name.
func (c *Const) DefName() string { return c.Name }

// DefName returns the defined name.
func (e *Enum) DefName() string { return e.Name }

// DefName returns the defined name.
func (s *Struct) DefName() string { return s.Name }

// DefName returns the defined name.
func (u *Union) DefName() string { return u.Name }

// DefName returns the defined name.
func (t *Typedef) DefName() string { return t.Decl.Name }
