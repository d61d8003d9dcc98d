// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"fmt"
	"strings"
)

// tokKind classifies a token.
type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokNumber
	tokPunct
)

// A token is one lexical element of a .x file. Doc holds the text of the
// last /** ... */ comment before it, if any came after the previous token.
type token struct {
	kind tokKind
	text string
	line int
	doc  string
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of file"
	}
	return fmt.Sprintf("%q", t.text)
}

// lexer splits a .x file into tokens.
type lexer struct {
	src  string
	pos  int
	line int
	doc  string
}

// lex returns the tokens of src, ending with a tokEOF.
func lex(src string) ([]token, error) {
	l := &lexer{src: src, line: 1}
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", l.line, err)
		}
		toks = append(toks, t)
		if t.kind == tokEOF {
			return toks, nil
		}
	}
}

func (l *lexer) next() (token, error) {
	if err := l.skip(); err != nil {
		return token{}, err
	}
	t := token{line: l.line, doc: l.doc}
	l.doc = ""
	if l.pos >= len(l.src) {
		t.kind = tokEOF
		return t, nil
	}
	c := l.src[l.pos]
	switch {
	case isIdentStart(c):
		t.kind, t.text = tokIdent, l.run(isIdentChar)
	case isDigit(c) || (c == '-' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1])):
		l.pos++
		t.kind, t.text = tokNumber, string(c)+l.run(isIdentChar)
	case strings.IndexByte("{}()[]<>;:,=*", c) >= 0:
		l.pos++
		t.kind, t.text = tokPunct, string(c)
	default:
		return t, fmt.Errorf("unexpected character %q", c)
	}
	return t, nil
}

// skip passes white space, comments and %-lines, keeping doc comments.
func (l *lexer) skip() error {
	for l.pos < len(l.src) {
		rest := l.src[l.pos:]
		switch {
		case rest[0] == '\n':
			l.line++
			l.pos++
		case rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r':
			l.pos++
		case rest[0] == '%' && l.atLineStart():
			l.skipLine()
		case strings.HasPrefix(rest, "//"):
			l.skipLine()
		case strings.HasPrefix(rest, "/*"):
			if err := l.comment(rest); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

func (l *lexer) comment(rest string) error {
	end := strings.Index(rest[2:], "*/")
	if end < 0 {
		return fmt.Errorf("unterminated comment")
	}
	text := rest[:end+4]
	if strings.HasPrefix(text, "/**") && text != "/**/" {
		l.doc = text
	}
	l.line += strings.Count(text, "\n")
	l.pos += len(text)
	return nil
}

func (l *lexer) atLineStart() bool {
	i := strings.LastIndexByte(l.src[:l.pos], '\n')
	return strings.TrimSpace(l.src[i+1:l.pos]) == ""
}

func (l *lexer) skipLine() {
	if i := strings.IndexByte(l.src[l.pos:], '\n'); i >= 0 {
		l.pos += i
	} else {
		l.pos = len(l.src)
	}
}

func (l *lexer) run(ok func(byte) bool) string {
	start := l.pos
	for l.pos < len(l.src) && ok(l.src[l.pos]) {
		l.pos++
	}
	return l.src[start:l.pos]
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }
func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
