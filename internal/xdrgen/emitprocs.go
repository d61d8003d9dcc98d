// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// aclObjectGo is the Go name of each acl.ObjectType constant.
func aclObjectGo(t acl.ObjectType) string {
	switch t {
	case acl.Connect:
		return "acl.Connect"
	case acl.Domain:
		return "acl.Domain"
	case acl.Interface:
		return "acl.Interface"
	case acl.Network:
		return "acl.Network"
	case acl.NetworkPort:
		return "acl.NetworkPort"
	case acl.NodeDevice:
		return "acl.NodeDevice"
	case acl.NWFilter:
		return "acl.NWFilter"
	case acl.NWFilterBinding:
		return "acl.NWFilterBinding"
	case acl.Secret:
		return "acl.Secret"
	case acl.StoragePool:
		return "acl.StoragePool"
	case acl.StorageVol:
		return "acl.StorageVol"
	}
	return ""
}

// procEmitter writes one program's procedure table.
type procEmitter struct {
	*emitter
	prog      *Program
	accessors map[string]string // accessor function name -> its code
}

// procs writes the table of f's program as the function <prefix>Procs.
func (e *emitter) procs(f *File) error {
	p := &procEmitter{emitter: e, prog: f.Program, accessors: map[string]string{}}
	fn := strings.ToLower(f.Program.Prefix) + "Procs"
	e.printf("\n// %s returns the procedures of %s (%s, version %d), in the file's order.\n",
		fn, strings.ToUpper(f.Program.Prefix)+"_PROGRAM", f.Name, f.Program.Version)
	e.printf("func %s() []procDef {\nreturn []procDef{\n", fn)
	for _, pr := range f.Program.Procs {
		if err := p.proc(pr); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", f.Name, pr.Line, pr.Const, err)
		}
	}
	e.printf("}\n}\n")
	names := make([]string, 0, len(p.accessors))
	for n := range p.accessors {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e.out.WriteString(p.accessors[n])
	}
	return nil
}

func (p *procEmitter) proc(pr Proc) error {
	p.printf("{\nnum: %d, name: %q, generate: %q,\n", pr.Number, pr.Const, pr.Ann.Generate)
	if pr.Ann.Priority == "high" {
		p.printf("high: true,\n")
	}
	if err := p.stream(pr.Ann); err != nil {
		return err
	}
	for _, body := range []struct{ field, name string }{{"args", pr.Args}, {"ret", pr.Ret}, {"msg", pr.Msg}} {
		if body.name != "" {
			p.printf("%s: func() Message { return new(%s) },\n", body.field, goName(body.name))
		}
	}
	if pr.Ann.NoACL {
		p.printf("noACL: true,\n")
	}
	if err := p.rules("acl", pr, pr.Ann.ACL); err != nil {
		return err
	}
	if err := p.rules("filter", pr, pr.Ann.ACLFilter); err != nil {
		return err
	}
	p.printf("},\n")
	return nil
}

func (p *procEmitter) stream(a Annotations) error {
	switch {
	case a.ReadStream != "" && a.WriteStream != "":
		return fmt.Errorf("both @readstream and @writestream")
	case a.ReadStream != "":
		p.printf("stream: StreamRead,\n")
	case a.WriteStream != "":
		p.printf("stream: StreamWrite,\n")
	case a.SparseFlag != "":
		return fmt.Errorf("@sparseflag without a stream")
	}
	if a.SparseFlag != "" {
		v, err := p.flagMask([]string{a.SparseFlag})
		if err != nil {
			return err
		}
		p.printf("sparseFlag: %#x, // %s\n", v, a.SparseFlag)
	}
	return nil
}

func (p *procEmitter) rules(field string, pr Proc, rules []ACLRule) error {
	if len(rules) == 0 {
		return nil
	}
	p.printf("%s: []ruleDef{\n", field)
	for _, r := range rules {
		if err := p.rule(pr, r); err != nil {
			return fmt.Errorf("@acl %s: %w", r.Text, err)
		}
	}
	p.printf("},\n")
	return nil
}

func (p *procEmitter) rule(pr Proc, r ACLRule) error {
	obj, err := acl.ParseObjectType(r.Object)
	if err != nil || r.Object != obj.String() {
		return fmt.Errorf("object %q is not one of acl's object types", r.Object)
	}
	if _, err := acl.ParsePermission(obj, r.Perm); err != nil || strings.Contains(r.Perm, "-") {
		return fmt.Errorf("permission %q is not one of acl's %s permissions", r.Perm, obj)
	}
	p.printf("{text: %q, obj: %s, perm: %q", r.Text, aclObjectGo(obj), r.Perm)
	if len(r.Flags) > 0 {
		if err := p.flagCond(pr, r); err != nil {
			return err
		}
	}
	if r.Param != "" {
		if err := p.paramCond(pr, r); err != nil {
			return err
		}
	}
	p.printf("},\n")
	return nil
}

func (p *procEmitter) flagCond(pr Proc, r ACLRule) error {
	mask, err := p.flagMask(r.Flags)
	if err != nil {
		return err
	}
	acc, err := p.accessor(pr, "flags")
	if err != nil {
		return err
	}
	p.printf(",\nflags: %#x, flagsNone: %t, flagsOf: %s", mask, r.FlagsNone, acc)
	return nil
}

func (p *procEmitter) paramCond(pr Proc, r ACLRule) error {
	v, err := p.flagMask([]string{r.Value})
	if err != nil {
		return err
	}
	acc, err := p.accessor(pr, r.Param)
	if err != nil {
		return err
	}
	p.printf(",\nparam: %q, value: %d, valueNot: %t, paramOf: %s", r.Param, v, r.ValueNegate, acc)
	return nil
}

// flagMask ORs the named C constants, which must fit an unsigned int.
func (p *procEmitter) flagMask(names []string) (uint32, error) {
	var mask int64
	for _, n := range names {
		v, err := p.s.C.Eval(n)
		if err != nil {
			return 0, err
		}
		if v < 0 || v > 0xffffffff {
			return 0, fmt.Errorf("%s = %d does not fit an unsigned int", n, v)
		}
		mask |= v
	}
	return uint32(mask), nil
}

// accessor returns the name of a function reading the unsigned int field
// of pr's args that a conditional rule tests, as libvirt's generated
// *EnsureACL functions receive it (an unsigned int parameter).
func (p *procEmitter) accessor(pr Proc, field string) (string, error) {
	if pr.Args == "" {
		return "", fmt.Errorf("rule tests %s, but the procedure has no arguments", field)
	}
	st, _ := p.s.defs[pr.Args].(*Struct)
	for _, f := range st.Fields {
		if f.Name != field {
			continue
		}
		t, err := p.s.resolve(f)
		if err != nil || t.kind != tPrim || t.prim != "unsigned int" {
			return "", fmt.Errorf("rule tests %s.%s, which is not an unsigned int", pr.Args, field)
		}
		return p.addAccessor(goName(pr.Args), goName(field)), nil
	}
	return "", fmt.Errorf("rule tests %s, which %s does not have", field, pr.Args)
}

func (p *procEmitter) addAccessor(typ, field string) string {
	name := "field" + typ + field
	p.accessors[name] = fmt.Sprintf("\n// %s returns %s.%s of m, which must be a *%s.\n"+
		"func %s(m Message) (uint32, bool) {\na, ok := m.(*%s)\nif !ok {\nreturn 0, false\n}\nreturn a.%s, true\n}\n",
		name, typ, field, typ, name, typ, field)
	return name
}
