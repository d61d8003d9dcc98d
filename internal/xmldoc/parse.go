// SPDX-License-Identifier: Apache-2.0

package xmldoc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Limits bound what Parse reads. Every document past one is refused;
// none is read in part.
type Limits struct {
	MaxBytes    int // the document's size
	MaxDepth    int // elements nested, the root counting one
	MaxElements int // elements in all; tokens are bounded by 4 per element, plus 16
	// Keep is how many levels of elements the tree keeps (0: all). Deeper
	// ones are read, checked and counted all the same, and their text
	// goes to their deepest kept ancestor, so Value still sees it.
	Keep int
}

// maxTokens bounds the tokens (text, comments, elements) of a document:
// text and comments between elements cannot make it unbounded work.
func (l Limits) maxTokens() int { return 4*l.MaxElements + 16 }

// open is an element being read: its name as written, how many
// namespace bindings it declared and, unless past Limits.Keep, its
// Element.
type open struct {
	prefix, local string
	undo          int
	el            *Element
}

// reader holds the state of one Parse.
type reader struct {
	lim      Limits
	dec      *xml.Decoder
	stack    []open
	ns       namespaces
	root     *Element
	elements int
	tokens   int
}

// Parse reads doc strictly into a tree of its elements, or says why not
// with an *Error.
func Parse(doc []byte, lim Limits) (*Element, error) {
	if len(doc) > lim.MaxBytes {
		return nil, &Error{Kind: Limit, Limit: LimitBytes, Max: lim.MaxBytes, Line: 1, Col: 1,
			Msg: fmt.Sprintf("document is %d bytes, more than %d", len(doc), lim.MaxBytes)}
	}
	r := &reader{lim: lim, dec: xml.NewDecoder(bytes.NewReader(doc)), ns: newNamespaces()}
	r.dec.Strict = true
	if e := prescan(doc); e != nil {
		return nil, e
	}
	for {
		tok, err := r.dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, r.fail(malformed(err))
		}
		if e := r.token(tok); e != nil {
			return nil, r.fail(e)
		}
	}
	switch {
	case r.root == nil:
		return nil, r.fail(notWellFormed("Document is empty"))
	case len(r.stack) > 0:
		o := r.stack[len(r.stack)-1]
		return nil, r.fail(&Error{Kind: Malformed, Msg: fmt.Sprintf("Premature end of data: <%s> is not closed", qname(o.prefix, o.local))})
	}
	return r.root, nil
}

// fail places e where the decoder stopped.
func (r *reader) fail(e *Error) *Error {
	e.Line, e.Col = r.dec.InputPos()
	return e
}

func refused(format string, args ...any) *Error {
	return &Error{Kind: Refused, Msg: fmt.Sprintf(format, args...)}
}

// notWellFormed is a refusal encoding/xml does not make itself, of what
// is not well-formed XML (libxml2 refuses it too).
func notWellFormed(msg string) *Error {
	return &Error{Kind: Malformed, Msg: msg}
}

// malformed is encoding/xml's refusal, without its "XML syntax error on
// line N: " (the Error has the line) or "xml: ", and with the encoding it
// cannot read said in an admin's words, not its API's.
func malformed(err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "xml: ")
	if se := (*xml.SyntaxError)(nil); errors.As(err, &se) {
		msg = se.Msg
	}
	const noCharset = " declared but Decoder.CharsetReader is nil"
	if enc, ok := strings.CutSuffix(msg, noCharset); ok && strings.HasPrefix(enc, "encoding ") {
		msg = enc + " declared: only UTF-8 is read"
	}
	return &Error{Kind: Malformed, Msg: msg}
}

func limitErr(name LimitName, max int, format string, args ...any) *Error {
	return &Error{Kind: Limit, Limit: name, Max: max, Msg: fmt.Sprintf(format, args...)}
}

// prescan refuses what encoding/xml would hide from the token stream but
// libxml2 reads: a byte-order mark (and with it other encodings), CDATA
// sections (text libvirt reads that a reviewer may not see), NUL.
func prescan(doc []byte) *Error {
	var e *Error
	at := 0
	switch {
	case bytes.HasPrefix(doc, []byte("\xef\xbb\xbf")), bytes.HasPrefix(doc, []byte("\xfe\xff")), bytes.HasPrefix(doc, []byte("\xff\xfe")):
		e = refused("a byte-order mark is refused: write plain UTF-8")
	case bytes.Contains(doc, []byte("<![CDATA[")):
		at, e = bytes.Index(doc, []byte("<![CDATA[")), refused("CDATA sections are refused")
	case bytes.IndexByte(doc, 0) >= 0:
		at, e = bytes.IndexByte(doc, 0), refused("NUL byte in document")
	default:
		return nil
	}
	e.Line, e.Col = position(doc[:at])
	return e
}

// position is the line and column (1-based, in bytes) just after before.
func position(before []byte) (line, col int) {
	line = 1 + bytes.Count(before, []byte("\n"))
	return line, len(before) - bytes.LastIndexByte(before, '\n')
}

func (r *reader) token(tok xml.Token) *Error {
	r.tokens++
	if max := r.lim.maxTokens(); r.tokens > max {
		return limitErr(LimitTokens, max, "more than %d tokens", max)
	}
	switch t := tok.(type) {
	case xml.ProcInst:
		return r.procInst(t)
	case xml.Directive:
		return refused("<!%s> refused: no DOCTYPE, DTD or entity declarations", firstWord(t))
	case xml.Comment:
		if !isText(t) {
			return notWellFormed("a comment holds a character XML does not allow")
		}
		if e := r.kept(); e != nil {
			e.Comment = true
		}
	case xml.CharData:
		return r.charData(t)
	case xml.StartElement:
		return r.start(t)
	case xml.EndElement:
		return r.end(t)
	}
	return nil
}

func firstWord(b []byte) string {
	s := string(b)
	if i := strings.IndexAny(s, " \t\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 20 {
		s = s[:20]
	}
	return s
}

// procInst allows only the XML declaration, first, as the XML grammar
// writes it, version 1.0, and at most UTF-8 for its encoding: not
// encoding/xml's test of the encoding, which finds encoding= only
// without spaces around its =, where libxml2 takes them and would read
// the whole document in another encoding (UTF-7 can hide markup from a
// UTF-8 reader).
func (r *reader) procInst(t xml.ProcInst) *Error {
	if t.Target != "xml" || r.tokens != 1 {
		return refused("processing instruction <?%s?> refused", t.Target)
	}
	if !xmlDecl.Match(t.Inst) {
		return refused("XML declaration %q refused: only version 1.0, encoding UTF-8 or none, standalone yes or no", clip(t.Inst))
	}
	return nil
}

// xmlDecl is the XML declaration's grammar (XML 1.0, production 23)
// after its target and the space encoding/xml takes with it, for
// version 1.0 and UTF-8 alone.
var xmlDecl = regexp.MustCompile(`^[ \t\r\n]*version[ \t\r\n]*=[ \t\r\n]*("1\.0"|'1\.0')` +
	`([ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*("(?i:utf-8)"|'(?i:utf-8)'))?` +
	`([ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*("(yes|no)"|'(yes|no)'))?[ \t\r\n]*$`)

// clip shortens what a document says before an error quotes it.
func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

func (r *reader) charData(t xml.CharData) *Error {
	e := r.kept()
	if e == nil {
		if len(r.stack) == 0 && !IsSpace(t) {
			return notWellFormed("text outside the root element")
		}
		return nil
	}
	e.text.Write(t)
	return nil
}

// kept is the innermost open element the tree keeps, nil outside the root.
func (r *reader) kept() *Element {
	for i := len(r.stack) - 1; i >= 0; i-- {
		if r.stack[i].el != nil {
			return r.stack[i].el
		}
	}
	return nil
}

// isText reports whether b is valid UTF-8 of characters XML allows
// (production 2, Char): encoding/xml checks text so, not comments.
func isText(b []byte) bool {
	for len(b) > 0 {
		c, size := utf8.DecodeRune(b)
		switch {
		case c == utf8.RuneError && size == 1:
			return false
		case c == '\t' || c == '\n' || c == '\r', c >= 0x20 && c <= 0xd7ff, c >= 0xe000 && c <= 0xfffd, c >= 0x10000 && c <= 0x10ffff:
		default:
			return false
		}
		b = b[size:]
	}
	return true
}

// IsSpace reports whether b is only XML white space (or empty).
func IsSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
