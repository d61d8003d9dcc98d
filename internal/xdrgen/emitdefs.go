// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"fmt"
	"strings"
)

// defs writes the Go form of every definition of f.
func (e *emitter) defs(f *File) error {
	var consts []*Const
	for _, d := range f.Defs {
		if c, ok := d.(*Const); ok {
			consts = append(consts, c)
		}
	}
	e.consts(f, consts)
	for _, d := range f.Defs {
		var err error
		switch d := d.(type) {
		case *Enum:
			e.enum(d)
		case *Struct:
			if err = e.finite(d.Name); err == nil {
				err = e.structDef(d)
			}
		case *Union:
			if err = e.finite(d.Name); err == nil {
				err = e.union(d)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// finite checks that a struct or union does not contain itself, so that
// its decoder's recursion is bounded by the type's nesting.
func (e *emitter) finite(name string) error {
	_, err := e.s.namedMinSize(name, map[string]bool{})
	return err
}

func (e *emitter) consts(f *File, consts []*Const) {
	if len(consts) == 0 {
		return
	}
	e.printf("\n// Constants of %s.\nconst (\n", f.Name)
	for _, c := range consts {
		e.printf("%s = %s // %s\n", goName(c.Name), literal(c.Value, e.s.values[c.Name]), c.Name)
	}
	e.printf(")\n")
}

// literal writes a value as the .x file did (a literal in its own base),
// and a constant defined by another as its value.
func literal(v Value, n int64) string {
	if v.Name == "" && v.Text != "" {
		return v.Text
	}
	return fmt.Sprint(n)
}

func (e *emitter) enum(d *Enum) {
	name := goName(d.Name)
	e.printf("\n// %s is enum %s. XDR does not restrict an enum to its members.\ntype %s int32\n", name, d.Name, name)
	e.printf("\n// Members of %s.\nconst (\n", d.Name)
	for _, m := range d.Members {
		e.printf("%s %s = %d // %s\n", goName(m.Name), name, e.s.values[m.Name], m.Name)
	}
	e.printf(")\n")
	e.printf("\n// DecodeXDR reads v from d.\nfunc (v *%s) DecodeXDR(d *xdr.Decoder) error {\nn, err := d.Int32()\n*v = %s(n)\nreturn err\n}\n", name, name)
	e.printf("\n// EncodeXDR appends v to e.\nfunc (v *%s) EncodeXDR(e *xdr.Encoder) error {\ne.Int32(int32(*v))\nreturn nil\n}\n", name)
}

func (e *emitter) structDef(d *Struct) error {
	name := goName(d.Name)
	types := make([]*texpr, len(d.Fields))
	seen := map[string]bool{}
	e.printf("\n// %s is struct %s.\ntype %s struct {\n", name, d.Name, name)
	for i, f := range d.Fields {
		t, err := e.s.resolve(f)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", d.Name, f.Name, err)
		}
		if seen[goName(f.Name)] {
			return fmt.Errorf("%s: two fields are named %s in Go", d.Name, goName(f.Name))
		}
		seen[goName(f.Name)] = true
		types[i] = t
		e.printf("%s %s\n", goName(f.Name), e.goType(t))
	}
	e.printf("}\n")
	err := e.method("m", name, "DecodeXDR", "d *xdr.Decoder", "reads m from d.", func(b *body) {
		for i, f := range d.Fields {
			b.decode("m."+goName(f.Name), types[i], fieldWrap(f.Name))
		}
	})
	if err != nil {
		return err
	}
	return e.method("m", name, "EncodeXDR", "e *xdr.Encoder", "appends m to e.", func(b *body) {
		for i, f := range d.Fields {
			b.encode("m."+goName(f.Name), types[i], fieldWrap(f.Name))
		}
	})
}

// unionArm is one arm with its Go case expressions and type (nil: void).
type unionArm struct {
	cases []string
	decl  Decl
	t     *texpr
}

func (e *emitter) union(d *Union) error {
	name := goName(d.Name)
	disc, err := e.s.resolve(d.Disc)
	if err != nil || disc.kind != tPrim && !disc.isEnum || disc.prim == "bool" || disc.prim == "hyper" || disc.prim == "unsigned hyper" {
		return fmt.Errorf("union %s: discriminant must be int, unsigned int or an enum", d.Name)
	}
	arms, err := e.unionArms(d)
	if err != nil {
		return fmt.Errorf("union %s: %w", d.Name, err)
	}
	e.printf("\n// %s is union %s: %s selects which other field is on the wire.\ntype %s struct {\n", name, d.Name, goName(d.Disc.Name), name)
	e.printf("%s %s\n", goName(d.Disc.Name), e.goType(disc))
	for _, a := range arms {
		if a.t != nil {
			e.printf("%s %s\n", goName(a.decl.Name), e.goType(a.t))
		}
	}
	e.printf("}\n")
	dn := goName(d.Disc.Name)
	err = e.method("u", name, "DecodeXDR", "d *xdr.Decoder", "reads u from d.", func(b *body) {
		b.decode("u."+dn, disc, fieldWrap(d.Disc.Name))
		b.unionSwitch("u."+dn, d, arms, b.decode)
	})
	if err != nil {
		return err
	}
	return e.method("u", name, "EncodeXDR", "e *xdr.Encoder", "appends u to e.", func(b *body) {
		b.encode("u."+dn, disc, fieldWrap(d.Disc.Name))
		b.unionSwitch("u."+dn, d, arms, b.encode)
	})
}

func (e *emitter) unionArms(d *Union) ([]unionArm, error) {
	var arms []unionArm
	names := map[string]bool{goName(d.Disc.Name): true}
	for _, a := range d.Arms {
		arm := unionArm{decl: a.Decl}
		for _, c := range a.Cases {
			expr, err := e.caseValue(c)
			if err != nil {
				return nil, err
			}
			arm.cases = append(arm.cases, expr)
		}
		if err := e.armType(&arm, names); err != nil {
			return nil, err
		}
		arms = append(arms, arm)
	}
	if d.Default != nil {
		arm := unionArm{decl: *d.Default}
		if err := e.armType(&arm, names); err != nil {
			return nil, err
		}
		arms = append(arms, arm)
	}
	return arms, nil
}

func (e *emitter) armType(arm *unionArm, names map[string]bool) error {
	if arm.decl.Type == "void" {
		return nil
	}
	if names[goName(arm.decl.Name)] {
		return fmt.Errorf("two fields are named %s in Go", goName(arm.decl.Name))
	}
	names[goName(arm.decl.Name)] = true
	var err error
	arm.t, err = e.s.resolve(arm.decl)
	return err
}

// caseValue returns the Go expression of a case label.
func (e *emitter) caseValue(v Value) (string, error) {
	n, err := e.s.Value(v)
	if err != nil {
		return "", err
	}
	if v.Name == "" {
		return fmt.Sprint(n), nil
	}
	if _, isX := e.s.values[v.Name]; !isX {
		e.cUsed[v.Name] = n
	}
	return goName(v.Name), nil
}

func (b *body) unionSwitch(disc string, d *Union, arms []unionArm, each func(string, *texpr, func(string) string)) {
	b.printf("switch %s {\n", disc)
	hasDefault := false
	for _, a := range arms {
		if a.cases == nil {
			hasDefault = true
			b.printf("default:\n")
		} else {
			b.printf("case %s:\n", strings.Join(a.cases, ", "))
		}
		if a.t != nil {
			each("u."+goName(a.decl.Name), a.t, fieldWrap(a.decl.Name))
		}
	}
	if !hasDefault {
		b.printf("default:\nreturn xdr.Field(%q, xdr.BadDiscriminant(int64(%s)))\n", d.Disc.Name, disc)
	}
	b.printf("}\n")
}
