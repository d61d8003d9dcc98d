// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"fmt"
	"strconv"
	"strings"
)

// evalC evaluates a C integer constant expression of literals, names
// (resolved by lookup), parentheses, unary - + ~ and the binary operators
// * / % + - << >> & ^ |.
func evalC(expr string, lookup func(string) (int64, error)) (int64, error) {
	toks, err := cTokens(expr)
	if err != nil {
		return 0, err
	}
	e := &cEval{toks: toks, lookup: lookup}
	v, err := e.binary(0)
	if err != nil {
		return 0, err
	}
	if e.pos != len(e.toks) {
		return 0, fmt.Errorf("unexpected %q", e.toks[e.pos])
	}
	return v, nil
}

func cTokens(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case isIdentChar(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case strings.HasPrefix(s[i:], "<<") || strings.HasPrefix(s[i:], ">>"):
			toks = append(toks, s[i:i+2])
			i += 2
		case strings.IndexByte("()+-*/%&|^~", c) >= 0:
			toks = append(toks, s[i:i+1])
			i++
		default:
			return nil, fmt.Errorf("unsupported character %q", c)
		}
	}
	return toks, nil
}

type cEval struct {
	toks   []string
	pos    int
	lookup func(string) (int64, error)
}

// cPrec returns C's precedence of a supported binary operator.
func cPrec(op string) (int, bool) {
	switch op {
	case "|":
		return 1, true
	case "^":
		return 2, true
	case "&":
		return 3, true
	case "<<", ">>":
		return 4, true
	case "+", "-":
		return 5, true
	case "*", "/", "%":
		return 6, true
	}
	return 0, false
}

func (e *cEval) peek() string {
	if e.pos < len(e.toks) {
		return e.toks[e.pos]
	}
	return ""
}

func (e *cEval) binary(min int) (int64, error) {
	lhs, err := e.unary()
	if err != nil {
		return 0, err
	}
	for {
		op := e.peek()
		prec, ok := cPrec(op)
		if !ok || prec <= min {
			return lhs, nil
		}
		e.pos++
		rhs, err := e.binary(prec)
		if err != nil {
			return 0, err
		}
		if lhs, err = applyC(op, lhs, rhs); err != nil {
			return 0, err
		}
	}
}

func applyC(op string, a, b int64) (int64, error) {
	switch op {
	case "|":
		return a | b, nil
	case "^":
		return a ^ b, nil
	case "&":
		return a & b, nil
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	}
	if (op == "<<" || op == ">>") && (b < 0 || b > 63) {
		return 0, fmt.Errorf("shift by %d", b)
	}
	if (op == "/" || op == "%") && b == 0 {
		return 0, fmt.Errorf("division by zero")
	}
	switch op {
	case "<<":
		return a << b, nil
	case ">>":
		return a >> b, nil
	case "/":
		return a / b, nil
	}
	return a % b, nil
}

func (e *cEval) unary() (int64, error) {
	t := e.peek()
	e.pos++
	switch {
	case t == "":
		return 0, fmt.Errorf("expression ends early")
	case t == "-" || t == "+" || t == "~":
		v, err := e.unary()
		switch t {
		case "-":
			v = -v
		case "~":
			v = ^v
		}
		return v, err
	case t == "(":
		v, err := e.binary(0)
		if err == nil && e.peek() != ")" {
			err = fmt.Errorf("missing )")
		}
		e.pos++
		return v, err
	case isDigit(t[0]):
		return cLiteral(t)
	case isIdentStart(t[0]):
		return e.lookup(t)
	}
	return 0, fmt.Errorf("unexpected %q", t)
}

// cLiteral parses an integer literal with optional U/L suffixes.
func cLiteral(t string) (int64, error) {
	digits := strings.TrimRight(t, "uUlL")
	if v, err := strconv.ParseInt(digits, 0, 64); err == nil {
		return v, nil
	}
	v, err := strconv.ParseUint(digits, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("bad literal %q", t)
	}
	return int64(v), nil
}
