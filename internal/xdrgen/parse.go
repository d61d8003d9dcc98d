// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse parses the .x file src (named name in errors) into its
// definitions, in file order.
func Parse(name, src string) ([]Def, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &parser{toks: toks}
	var defs []Def
	for p.peek().kind != tokEOF {
		d, err := p.definition()
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, p.peek().line, err)
		}
		defs = append(defs, d)
	}
	return defs, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) accept(text string) bool {
	if t := p.peek(); t.kind != tokNumber && t.text == text {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(text string) error {
	if !p.accept(text) {
		return fmt.Errorf("expected %q, found %s", text, p.peek())
	}
	return nil
}

func (p *parser) ident() (string, error) {
	t := p.next()
	if t.kind != tokIdent {
		return "", fmt.Errorf("expected a name, found %s", t)
	}
	return t.text, nil
}

func (p *parser) value() (Value, error) {
	t := p.next()
	switch t.kind {
	case tokIdent:
		return Value{Name: t.text}, nil
	case tokNumber:
		n, err := parseInt(t.text)
		return Value{Num: n, Text: t.text}, err
	}
	return Value{}, fmt.Errorf("expected a number or constant, found %s", t)
}

// parseInt parses a decimal, hex (0x) or octal (0) literal, optionally
// negative.
func parseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return n, nil
}

func (p *parser) definition() (Def, error) {
	line := p.peek().line
	kw, err := p.ident()
	if err != nil {
		return nil, err
	}
	var d Def
	switch kw {
	case "const":
		d, err = p.constDef(line)
	case "typedef":
		var decl Decl
		decl, err = p.decl()
		d = &Typedef{Decl: decl}
	case "enum":
		d, err = p.enumDef(line)
	case "struct":
		d, err = p.structDef(line)
	case "union":
		d, err = p.unionDef(line)
	default:
		return nil, fmt.Errorf("unsupported definition %q", kw)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kw, err)
	}
	return d, p.expect(";")
}

func (p *parser) constDef(line int) (*Const, error) {
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	if err := p.expect("="); err != nil {
		return nil, err
	}
	v, err := p.value()
	return &Const{Name: name, Value: v, Line: line}, err
}

func (p *parser) enumDef(line int) (*Enum, error) {
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	e := &Enum{Name: name, Line: line}
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		m := EnumMember{Doc: t.doc, Line: t.line}
		if m.Name, err = p.ident(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := p.expect("="); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", name, m.Name, err)
		}
		if m.Value, err = p.value(); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", name, m.Name, err)
		}
		e.Members = append(e.Members, m)
		if !p.accept(",") {
			return e, p.expect("}")
		}
	}
}

func (p *parser) structDef(line int) (*Struct, error) {
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	s := &Struct{Name: name, Line: line}
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	for !p.accept("}") {
		d, err := p.decl()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if d.Type == "void" {
			return nil, fmt.Errorf("%s: void field", name)
		}
		s.Fields = append(s.Fields, d)
		if err := p.expect(";"); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return s, nil
}

func (p *parser) unionDef(line int) (*Union, error) {
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	u := &Union{Name: name, Line: line}
	if err := p.unionHead(u); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for !p.accept("}") {
		if err := p.unionArm(u); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if len(u.Arms) == 0 && u.Default == nil {
		return nil, fmt.Errorf("%s: no arms", name)
	}
	return u, nil
}

func (p *parser) unionHead(u *Union) error {
	if err := p.expect("switch"); err != nil {
		return err
	}
	if err := p.expect("("); err != nil {
		return err
	}
	var err error
	if u.Disc, err = p.decl(); err != nil {
		return err
	}
	if u.Disc.Shape != Scalar {
		return fmt.Errorf("discriminant %s is not a scalar", u.Disc.Name)
	}
	if err := p.expect(")"); err != nil {
		return err
	}
	return p.expect("{")
}

func (p *parser) unionArm(u *Union) error {
	if p.accept("default") {
		if u.Default != nil {
			return fmt.Errorf("two default arms")
		}
		d, err := p.armDecl()
		u.Default = &d
		return err
	}
	var arm Arm
	for p.accept("case") {
		v, err := p.value()
		if err != nil {
			return err
		}
		if err := p.expect(":"); err != nil {
			return err
		}
		arm.Cases = append(arm.Cases, v)
	}
	if len(arm.Cases) == 0 {
		return fmt.Errorf("expected case or default, found %s", p.peek())
	}
	var err error
	arm.Decl, err = p.declAfterColon()
	u.Arms = append(u.Arms, arm)
	return err
}

func (p *parser) armDecl() (Decl, error) {
	if err := p.expect(":"); err != nil {
		return Decl{}, err
	}
	return p.declAfterColon()
}

func (p *parser) declAfterColon() (Decl, error) {
	d, err := p.decl()
	if err != nil {
		return d, err
	}
	return d, p.expect(";")
}

// decl parses "void", "type name", "type *name", "type name[N]",
// "type name<N>" and "type name<>".
func (p *parser) decl() (Decl, error) {
	d := Decl{Line: p.peek().line}
	var err error
	if d.Type, err = p.typeSpec(); err != nil {
		return d, err
	}
	if d.Type == "void" {
		return d, nil
	}
	if p.accept("*") {
		d.Shape = Optional
	}
	if d.Name, err = p.ident(); err != nil {
		return d, err
	}
	if err := p.declShape(&d); err != nil {
		return d, fmt.Errorf("%s: %w", d.Name, err)
	}
	return d, checkDecl(d)
}

func (p *parser) declShape(d *Decl) error {
	var err error
	switch {
	case p.accept("["):
		if d.Shape == Optional {
			return fmt.Errorf("optional array")
		}
		d.Shape = Fixed
		if d.Size, err = p.value(); err != nil {
			return err
		}
		return p.expect("]")
	case p.accept("<"):
		if d.Shape == Optional {
			return fmt.Errorf("optional array")
		}
		d.Shape = Variable
		if p.accept(">") {
			d.Unbounded = true
			return nil
		}
		if d.Size, err = p.value(); err != nil {
			return err
		}
		return p.expect(">")
	}
	return nil
}

func checkDecl(d Decl) error {
	switch {
	case d.Type == "string" && d.Shape != Variable:
		return fmt.Errorf("%s: string must be declared string %s<N>", d.Name, d.Name)
	case d.Type == "opaque" && d.Shape != Variable && d.Shape != Fixed:
		return fmt.Errorf("%s: opaque must be declared with [N] or <N>", d.Name)
	}
	return nil
}

// builtin maps each builtin type spelling to its canonical name.
func builtin(words []string) (string, bool) {
	switch s := strings.Join(words, " "); s {
	case "int", "hyper", "char", "short", "float", "double", "bool", "string", "opaque", "void",
		"unsigned int", "unsigned hyper", "unsigned char", "unsigned short":
		return s, true
	case "unsigned":
		return "unsigned int", true
	}
	return "", false
}

func (p *parser) typeSpec() (string, error) {
	word, err := p.ident()
	if err != nil {
		return "", err
	}
	switch word {
	case "unsigned":
		if t := p.peek(); t.kind == tokIdent {
			if b, ok := builtin([]string{"unsigned", t.text}); ok {
				p.next()
				return b, nil
			}
		}
		return "unsigned int", nil
	case "struct", "union", "enum":
		return p.ident()
	case "quadruple":
		return "", fmt.Errorf("quadruple is not supported")
	}
	if b, ok := builtin([]string{word}); ok {
		return b, nil
	}
	return word, nil
}
