// SPDX-License-Identifier: Apache-2.0

package proto

import (
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// A Table holds every procedure of every program. It is immutable and
// safe for concurrent use.
type Table struct {
	procs  map[procKey]*Procedure
	byProg map[Program][]*Procedure
}

type procKey struct {
	prog Program
	num  int32
}

// NewTable builds the procedure table, resolving every rule's permission
// in acl's table. An error means the protocol and acl disagree: a guard
// must not start.
func NewTable() (*Table, error) {
	t := &Table{procs: map[procKey]*Procedure{}, byProg: map[Program][]*Procedure{}}
	for _, prog := range Programs() {
		for _, def := range prog.defs() {
			p, err := newProcedure(prog, def)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", def.name, err)
			}
			key := procKey{prog, def.num}
			if _, dup := t.procs[key]; dup {
				return nil, fmt.Errorf("%s: procedure number %d used twice", prog, def.num)
			}
			t.procs[key] = p
			t.byProg[prog] = append(t.byProg[prog], p)
		}
	}
	return t, nil
}

func newProcedure(prog Program, def procDef) (*Procedure, error) {
	p := &Procedure{prog: prog, def: def}
	if def.noACL != (len(def.acl) == 0) {
		return nil, fmt.Errorf("needs either @acl rules or @acl: none")
	}
	for _, rd := range def.acl {
		perm, err := acl.ParsePermission(rd.obj, rd.perm)
		if err != nil {
			return nil, fmt.Errorf("@acl %s: %w", rd.text, err)
		}
		p.rules = append(p.rules, Rule{perm: perm, def: rd})
	}
	for _, rd := range def.filter {
		perm, err := acl.ParsePermission(rd.obj, rd.perm)
		if err != nil {
			return nil, fmt.Errorf("@aclfilter %s: %w", rd.text, err)
		}
		p.filters = append(p.filters, perm)
	}
	return p, nil
}

// Lookup returns the procedure num of prog.
func (t *Table) Lookup(prog Program, num int32) (*Procedure, bool) {
	p, ok := t.procs[procKey{prog, num}]
	return p, ok
}

// Procedures returns the procedures of prog in the .x file's order.
func (t *Table) Procedures(prog Program) []*Procedure {
	return append([]*Procedure(nil), t.byProg[prog]...)
}
