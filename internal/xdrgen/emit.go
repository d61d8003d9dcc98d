// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"bytes"
	"fmt"
	"strings"
)

// emitter writes the Go code of one file's types.
type emitter struct {
	s     *Spec
	out   bytes.Buffer
	cUsed map[string]int64 // C constants the types refer to
}

// body is the code of one function under construction.
type body struct {
	e       *emitter
	buf     bytes.Buffer
	tmp     int
	usesErr bool
	err     error // the first failure; the code written is then discarded
}

func (e *emitter) printf(format string, args ...any) { fmt.Fprintf(&e.out, format, args...) }

func (b *body) printf(format string, args ...any) { fmt.Fprintf(&b.buf, format, args...) }

func (b *body) temp(prefix string) string {
	b.tmp++
	return fmt.Sprintf("%s%d", prefix, b.tmp)
}

// goType returns the Go type of t.
func (e *emitter) goType(t *texpr) string {
	switch t.kind {
	case tPrim:
		return primGo(t.prim)
	case tString:
		return "string"
	case tOpaque:
		return "[]byte"
	case tFixedOpaque:
		return fmt.Sprintf("[%s]byte", e.size(t))
	case tArray:
		return "[]" + e.goType(t.elem)
	case tFixedArray:
		return fmt.Sprintf("[%s]%s", e.size(t), e.goType(t.elem))
	case tOptional:
		return "*" + e.goType(t.elem)
	}
	return goName(t.named)
}

// size returns the Go expression of t's length or maximum: the constant's
// Go name when the .x file named one.
func (e *emitter) size(t *texpr) string {
	switch {
	case t.nName != "":
		if _, isX := e.s.values[t.nName]; !isX {
			e.cUsed[t.nName] = int64(t.n)
		}
		return goName(t.nName)
	case t.n == ^uint32(0) && (t.kind == tArray || t.kind == tString || t.kind == tOpaque):
		return "xdr.Unbounded"
	}
	return fmt.Sprint(t.n)
}

// primGo and primMethod give the Go type and the xdr.Decoder/Encoder
// method of each builtin.
func primGo(p string) string {
	return map[string]string{
		"int": "int32", "unsigned int": "uint32", "hyper": "int64", "unsigned hyper": "uint64",
		"char": "int8", "unsigned char": "uint8", "short": "int16", "unsigned short": "uint16",
		"float": "float32", "double": "float64", "bool": "bool",
	}[p]
}

func primMethod(p string) string {
	s := primGo(p)
	return strings.ToUpper(s[:1]) + s[1:]
}

// decode writes code reading a value of type t into lhs; wrap turns an
// error expression into the returned one (adding the field path).
func (b *body) decode(lhs string, t *texpr, wrap func(string) string) {
	switch t.kind {
	case tPrim:
		b.check(fmt.Sprintf("%s, err = d.%s()", lhs, primMethod(t.prim)), wrap)
	case tString:
		b.check(fmt.Sprintf("%s, err = d.String(%s)", lhs, b.e.size(t)), wrap)
	case tOpaque:
		b.check(fmt.Sprintf("%s, err = d.Opaque(%s)", lhs, b.e.size(t)), wrap)
	case tFixedOpaque:
		b.check(fmt.Sprintf("err = d.FixedOpaque(%s[:])", lhs), wrap)
	case tNamed:
		b.check(fmt.Sprintf("err = %s.DecodeXDR(d)", lhs), wrap)
	case tOptional:
		b.decodeOptional(lhs, t, wrap)
	case tArray:
		b.decodeArray(lhs, t, wrap)
	case tFixedArray:
		b.loop(lhs, t, wrap, b.decode)
	}
}

func (b *body) check(stmt string, wrap func(string) string) {
	b.usesErr = true
	b.printf("if %s; err != nil {\nreturn %s\n}\n", stmt, wrap("err"))
}

func (b *body) decodeOptional(lhs string, t *texpr, wrap func(string) string) {
	present := b.temp("present")
	b.printf("var %s bool\n", present)
	b.check(fmt.Sprintf("%s, err = d.Bool()", present), wrap)
	b.printf("if %s {\n%s = new(%s)\n", present, lhs, b.e.goType(t.elem))
	b.decode(deref(lhs, t.elem), t.elem, wrap)
	b.printf("}\n")
}

// deref is the expression for the value a pointer lhs points to.
func deref(lhs string, elem *texpr) string {
	if elem.kind == tNamed {
		return lhs // methods have pointer receivers
	}
	return "(*" + lhs + ")"
}

func (b *body) decodeArray(lhs string, t *texpr, wrap func(string) string) {
	least, err := b.e.s.minSize(t.elem, map[string]bool{})
	if err != nil && b.err == nil {
		b.err = err
	}
	n := b.temp("n")
	b.printf("var %s int\n", n)
	b.check(fmt.Sprintf("%s, err = d.Count(%s, %d)", n, b.e.size(t), least), wrap)
	b.printf("%s = make(%s, %s)\n", lhs, b.e.goType(t), n)
	b.loop(lhs, t, wrap, b.decode)
}

func (b *body) loop(lhs string, t *texpr, wrap func(string) string, each func(string, *texpr, func(string) string)) {
	i := b.temp("i")
	b.printf("for %s := range %s {\n", i, lhs)
	each(lhs+"["+i+"]", t.elem, func(err string) string {
		return wrap(fmt.Sprintf("xdr.Index(%s, %s)", i, err))
	})
	b.printf("}\n")
}

// encode writes code appending the value lhs of type t.
func (b *body) encode(lhs string, t *texpr, wrap func(string) string) {
	switch t.kind {
	case tPrim:
		b.printf("e.%s(%s)\n", primMethod(t.prim), lhs)
	case tString:
		b.check(fmt.Sprintf("err = e.String(%s, %s)", lhs, b.e.size(t)), wrap)
	case tOpaque:
		b.check(fmt.Sprintf("err = e.Opaque(%s, %s)", lhs, b.e.size(t)), wrap)
	case tFixedOpaque:
		b.printf("e.FixedOpaque(%s[:])\n", lhs)
	case tNamed:
		b.check(fmt.Sprintf("err = %s.EncodeXDR(e)", lhs), wrap)
	case tOptional:
		b.printf("e.Bool(%s != nil)\nif %s != nil {\n", lhs, lhs)
		b.encode(deref(lhs, t.elem), t.elem, wrap)
		b.printf("}\n")
	case tArray:
		b.check(fmt.Sprintf("err = e.Count(len(%s), %s)", lhs, b.e.size(t)), wrap)
		b.loop(lhs, t, wrap, b.encode)
	case tFixedArray:
		b.loop(lhs, t, wrap, b.encode)
	}
}

// fieldWrap wraps an error with a field name.
func fieldWrap(name string) func(string) string {
	return func(err string) string { return fmt.Sprintf("xdr.Field(%q, %s)", name, err) }
}

// method writes a DecodeXDR or EncodeXDR method whose body fill writes.
func (e *emitter) method(recv, typ, name, param, doc string, fill func(b *body)) error {
	b := &body{e: e}
	fill(b)
	if b.err != nil {
		return fmt.Errorf("%s.%s: %w", typ, name, b.err)
	}
	e.printf("\n// %s %s\nfunc (%s *%s) %s(%s) error {\n", name, doc, recv, typ, name, param)
	if b.usesErr {
		e.printf("var err error\n")
	}
	e.out.Write(b.buf.Bytes())
	e.printf("return nil\n}\n")
	return nil
}
