// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"fmt"
	"strings"
)

// A Spec is a set of parsed .x files that may refer to each other's
// definitions (qemu_protocol.x uses remote_protocol.x's types), plus the C
// constants they and their @acl rules use.
type Spec struct {
	Files  []*File
	C      *CConsts
	defs   map[string]Def
	values map[string]int64 // .x consts and enum members
}

// A File is one parsed .x file.
type File struct {
	Name    string // as given to AddFile, such as "src/remote/remote_protocol.x"
	Defs    []Def
	Program *Program // nil for a file without a procedure enum
}

// A Program is the RPC program a .x file defines: <PREFIX>_PROGRAM,
// <PREFIX>_PROTOCOL_VERSION and the enum <prefix>_procedure.
type Program struct {
	Prefix  string // struct prefix, such as "remote"
	Number  uint32
	Version uint32
	Procs   []Proc
}

// A Proc is one procedure with its bodies and annotations.
type Proc struct {
	Number int32
	Const  string // REMOTE_PROC_DOMAIN_GET_XML_DESC
	Name   string // DOMAIN_GET_XML_DESC
	Args   string // struct names, empty for void
	Ret    string
	Msg    string
	Ann    Annotations
	Line   int
}

// NewSpec returns an empty Spec whose C constants come from c.
func NewSpec(c *CConsts) *Spec {
	return &Spec{C: c, defs: map[string]Def{}, values: map[string]int64{}}
}

// AddFile parses a .x file. If prefix is not empty the file must define
// the RPC program of that prefix ("remote", "qemu", "lxc").
func (s *Spec) AddFile(name, src, prefix string) (*File, error) {
	defs, err := Parse(name, src)
	if err != nil {
		return nil, err
	}
	f := &File{Name: name, Defs: defs}
	if err := s.define(f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if prefix != "" {
		if f.Program, err = s.program(f, prefix); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	s.Files = append(s.Files, f)
	return f, nil
}

func (s *Spec) define(f *File) error {
	for _, d := range f.Defs {
		name := d.DefName()
		if _, dup := s.defs[name]; dup {
			return fmt.Errorf("%s defined twice", name)
		}
		s.defs[name] = d
		if err := s.defineValues(d); err != nil {
			return err
		}
	}
	return nil
}

func (s *Spec) defineValues(d Def) error {
	switch d := d.(type) {
	case *Const:
		v, err := s.Value(d.Value)
		if err != nil {
			return fmt.Errorf("const %s: %w", d.Name, err)
		}
		s.values[d.Name] = v
	case *Enum:
		for _, m := range d.Members {
			v, err := s.Value(m.Value)
			if err != nil {
				return fmt.Errorf("enum %s: %s: %w", d.Name, m.Name, err)
			}
			if _, dup := s.values[m.Name]; dup {
				return fmt.Errorf("%s defined twice", m.Name)
			}
			s.values[m.Name] = v
		}
	}
	return nil
}

// Value resolves a literal, a .x constant or enum member, or a C constant.
func (s *Spec) Value(v Value) (int64, error) {
	if v.Name == "" {
		return v.Num, nil
	}
	if n, ok := s.values[v.Name]; ok {
		return n, nil
	}
	return s.C.Eval(v.Name)
}

// Lookup returns the definition of name.
func (s *Spec) Lookup(name string) (Def, bool) {
	d, ok := s.defs[name]
	return d, ok
}

func (s *Spec) program(f *File, prefix string) (*Program, error) {
	upper := strings.ToUpper(prefix)
	p := &Program{Prefix: prefix}
	num, err := s.Value(Value{Name: upper + "_PROGRAM"})
	if err != nil {
		return nil, err
	}
	vers, err := s.Value(Value{Name: upper + "_PROTOCOL_VERSION"})
	if err != nil {
		return nil, err
	}
	p.Number, p.Version = uint32(num), uint32(vers)
	enum, ok := s.defs[prefix+"_procedure"].(*Enum)
	if !ok {
		return nil, fmt.Errorf("no enum %s_procedure", prefix)
	}
	bodies := bodyStructs(f, prefix)
	for _, m := range enum.Members {
		proc, err := s.proc(m, upper+"_PROC_", prefix, bodies)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", m.Line, m.Name, err)
		}
		p.Procs = append(p.Procs, proc)
	}
	for key := range bodies {
		return nil, fmt.Errorf("struct %s belongs to no procedure", key)
	}
	return p, nil
}

// bodyStructs maps gendispatch.pl's key of each _args, _ret and _msg
// struct of f (the name lowercased without underscores, plus the suffix)
// to the struct's name.
func bodyStructs(f *File, prefix string) map[string]string {
	m := map[string]string{}
	for _, d := range f.Defs {
		st, ok := d.(*Struct)
		if !ok || !strings.HasPrefix(st.Name, prefix+"_") {
			continue
		}
		for _, suffix := range []string{"_args", "_ret", "_msg"} {
			if base, ok := strings.CutSuffix(strings.TrimPrefix(st.Name, prefix+"_"), suffix); ok {
				m[procKey(base)+suffix] = st.Name
			}
		}
	}
	return m
}

func procKey(name string) string { return strings.ReplaceAll(strings.ToLower(name), "_", "") }

func (s *Spec) proc(m EnumMember, constPrefix, prefix string, bodies map[string]string) (Proc, error) {
	name, ok := strings.CutPrefix(m.Name, constPrefix)
	if !ok {
		return Proc{}, fmt.Errorf("procedure name does not start with %s", constPrefix)
	}
	num, err := s.Value(m.Value)
	if err != nil {
		return Proc{}, err
	}
	p := Proc{Number: int32(num), Const: m.Name, Name: name, Line: m.Line}
	if m.Doc == "" {
		return p, fmt.Errorf("no annotation comment")
	}
	if p.Ann, err = parseAnnotations(m.Doc); err != nil {
		return p, err
	}
	if p.Ann.Generate == "" {
		return p, fmt.Errorf("@generate annotation missing")
	}
	if len(p.Ann.ACL) == 0 && !p.Ann.NoACL {
		return p, fmt.Errorf("@acl annotation missing")
	}
	key := procKey(name)
	p.Args, p.Ret, p.Msg = bodies[key+"_args"], bodies[key+"_ret"], bodies[key+"_msg"]
	delete(bodies, key+"_args")
	delete(bodies, key+"_ret")
	delete(bodies, key+"_msg")
	return p, nil
}
