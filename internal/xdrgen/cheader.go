// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"fmt"
	"regexp"
	"strings"
)

// CConsts holds the integer constants of C headers: enum members and
// object-like #defines, as unevaluated expressions. Eval evaluates one on
// demand, so that definitions nobody asks for may use any C.
type CConsts struct {
	exprs map[string]string
	where map[string]string
}

// NewCConsts returns an empty constant table.
func NewCConsts() *CConsts {
	return &CConsts{exprs: map[string]string{}, where: map[string]string{}}
}

var (
	cComment  = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
	cDefine   = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+(\S.*)$`)
	cEnumBody = regexp.MustCompile(`(?s)\benum\b\s*\w*\s*\{(.*?)\}`)
	cPreproc  = regexp.MustCompile(`(?m)^[ \t]*#.*$`)
	cMember   = regexp.MustCompile(`^([A-Za-z_]\w*)\s*(?:=\s*(.+))?$`)
)

// AddHeader reads the constants of one header (named name in errors).
func (c *CConsts) AddHeader(name, src string) error {
	src = strings.ReplaceAll(src, "\\\n", " ")
	src = cComment.ReplaceAllString(src, " ")
	for _, m := range cDefine.FindAllStringSubmatch(src, -1) {
		c.add(m[1], strings.TrimSpace(m[2]), name)
	}
	for _, m := range cEnumBody.FindAllStringSubmatch(src, -1) {
		if err := c.addEnum(name, cPreproc.ReplaceAllString(m[1], " ")); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func (c *CConsts) add(name, expr, file string) {
	if _, dup := c.exprs[name]; dup {
		// A second definition (an #ifdef branch) makes the name
		// ambiguous; evaluating it is then an error.
		expr = ""
	}
	c.exprs[name] = expr
	c.where[name] = file
}

func (c *CConsts) addEnum(file, body string) error {
	prev := ""
	for _, item := range strings.Split(body, ",") {
		item = strings.Join(strings.Fields(item), " ")
		if item == "" {
			continue
		}
		m := cMember.FindStringSubmatch(item)
		if m == nil {
			return fmt.Errorf("cannot parse enum member %q", item)
		}
		expr := m[2]
		switch {
		case expr == "" && prev == "":
			expr = "0"
		case expr == "":
			expr = "(" + prev + ") + 1"
		}
		c.add(m[1], expr, file)
		prev = m[1]
	}
	return nil
}

// Eval returns the value of the named constant.
func (c *CConsts) Eval(name string) (int64, error) {
	return c.eval(name, map[string]bool{})
}

func (c *CConsts) eval(name string, busy map[string]bool) (int64, error) {
	expr, ok := c.exprs[name]
	switch {
	case !ok:
		return 0, fmt.Errorf("C constant %s is not defined in the headers", name)
	case expr == "":
		return 0, fmt.Errorf("C constant %s is defined more than once (%s)", name, c.where[name])
	case busy[name]:
		return 0, fmt.Errorf("C constant %s is defined in terms of itself", name)
	}
	busy[name] = true
	defer delete(busy, name)
	v, err := evalC(expr, func(n string) (int64, error) { return c.eval(n, busy) })
	if err != nil {
		return 0, fmt.Errorf("%s = %s (%s): %w", name, expr, c.where[name], err)
	}
	return v, nil
}
