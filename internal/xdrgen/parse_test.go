// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDefinitions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Def
	}{
		{"const", "const A = 0x20;", []Def{&Const{Name: "A", Value: Value{Num: 32, Text: "0x20"}, Line: 1}}},
		{"negative const", "const B = -3;", []Def{&Const{Name: "B", Value: Value{Num: -3, Text: "-3"}, Line: 1}}},
		{"typedef string", "typedef string s<MAX>;",
			[]Def{&Typedef{Decl: Decl{Name: "s", Type: "string", Shape: Variable, Size: Value{Name: "MAX"}, Line: 1}}}},
		{"typedef optional", "typedef s *os;",
			[]Def{&Typedef{Decl: Decl{Name: "os", Type: "s", Shape: Optional, Line: 1}}}},
		{"fixed opaque", "typedef opaque uuid[16];",
			[]Def{&Typedef{Decl: Decl{Name: "uuid", Type: "opaque", Shape: Fixed, Size: Value{Num: 16, Text: "16"}, Line: 1}}}},
		{"unbounded", "typedef int list<>;",
			[]Def{&Typedef{Decl: Decl{Name: "list", Type: "int", Shape: Variable, Unbounded: true, Line: 1}}}},
		{"rpcgen types", "struct s {\n unsigned char a;\n unsigned short b;\n unsigned c;\n unsigned hyper d;\n char e[4];\n bool f;\n};",
			[]Def{&Struct{Name: "s", Line: 1, Fields: []Decl{
				{Name: "a", Type: "unsigned char", Line: 2},
				{Name: "b", Type: "unsigned short", Line: 3},
				{Name: "c", Type: "unsigned int", Line: 4},
				{Name: "d", Type: "unsigned hyper", Line: 5},
				{Name: "e", Type: "char", Shape: Fixed, Size: Value{Num: 4, Text: "4"}, Line: 6},
				{Name: "f", Type: "bool", Line: 7},
			}}}},
		{"enum", "enum e { A = 1, B = C };",
			[]Def{&Enum{Name: "e", Line: 1, Members: []EnumMember{
				{Name: "A", Value: Value{Num: 1, Text: "1"}, Line: 1},
				{Name: "B", Value: Value{Name: "C"}, Line: 1},
			}}}},
		{"union", "union u switch (int t) {\n case 1: case 2: int i;\n case X: void;\n default: hyper h;\n};",
			[]Def{&Union{Name: "u", Line: 1, Disc: Decl{Name: "t", Type: "int", Line: 1},
				Arms: []Arm{
					{Cases: []Value{{Num: 1, Text: "1"}, {Num: 2, Text: "2"}}, Decl: Decl{Name: "i", Type: "int", Line: 2}},
					{Cases: []Value{{Name: "X"}}, Decl: Decl{Type: "void", Line: 3}},
				},
				Default: &Decl{Name: "h", Type: "hyper", Line: 4}}}},
		{"comments and passthrough", "%#include <x.h>\n/* c */ // d\nconst A = 1;",
			[]Def{&Const{Name: "A", Value: Value{Num: 1, Text: "1"}, Line: 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("t.x", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"string without max", "struct s { string a; };", "string must be declared"},
		{"bare opaque", "struct s { opaque a; };", "opaque must be declared"},
		{"optional array", "struct s { int *a<3>; };", "optional array"},
		{"void field", "struct s { void; };", "void field"},
		{"program", "program P { } = 1;", "unsupported definition"},
		{"quadruple", "struct s { quadruple q; };", "quadruple"},
		{"missing semicolon", "const A = 1", `expected ";"`},
		{"unterminated comment", "/* x", "unterminated comment"},
		{"bad char", "const A = 1 @;", "unexpected character"},
		{"empty union", "union u switch (int t) { };", "no arms"},
		{"two defaults", "union u switch (int t) { default: void; default: void; };", "two default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.x", tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDocComments(t *testing.T) {
	src := "enum p {\n/**\n * @generate: both\n */\n/* note */\nP_PROC_A = 1,\nP_PROC_B = 2\n};"
	defs, err := Parse("t.x", src)
	if err != nil {
		t.Fatal(err)
	}
	m := defs[0].(*Enum).Members
	if !strings.Contains(m[0].Doc, "@generate: both") || m[1].Doc != "" {
		t.Errorf("docs: %q, %q", m[0].Doc, m[1].Doc)
	}
}
