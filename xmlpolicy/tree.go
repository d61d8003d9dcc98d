// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is one element as libxml2 would build it, with its namespace
// resolved. Only documents that encoding/xml and libxml2 read alike get
// this far: parse refuses everything the two could read differently.
type node struct {
	prefix, local string
	ns            string // namespace URI, "" for libvirt's own elements
	attrs         []xml.Attr
	children      []*node
	text          strings.Builder
	comment       bool // a comment stood among this element's content
	start, end    int64
}

// parser holds the state of one parse.
type parser struct {
	lim      limits
	dec      *xml.Decoder
	stack    []*node
	scopes   []map[string]string // namespace prefixes in scope, per open element
	root     *node
	elements int
	tokens   int
}

// xmlNS is the namespace the xml prefix is bound to by definition.
const xmlNS = "http://www.w3.org/XML/1998/namespace"

func parseErr(format string, args ...any) *Violation {
	return &Violation{Path: "/", Rule: ruleXML, Reason: fmt.Sprintf(format, args...)}
}

// parse reads doc strictly into a tree, or says why it will not.
func parse(doc []byte, lim limits) (*node, *Violation) {
	if len(doc) > lim.maxBytes {
		return nil, &Violation{Path: "/", Rule: ruleLimits, Reason: fmt.Sprintf("document is %d bytes, more than max_bytes %d", len(doc), lim.maxBytes)}
	}
	if v := prescan(doc); v != nil {
		return nil, v
	}
	p := &parser{lim: lim, dec: xml.NewDecoder(bytes.NewReader(doc))}
	p.dec.Strict = true
	for {
		tok, err := p.dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, parseErr("not well-formed XML: %v", err)
		}
		if v := p.token(tok); v != nil {
			return nil, v
		}
	}
	if p.root == nil || len(p.stack) > 0 {
		return nil, parseErr("document has no complete root element")
	}
	return p.root, nil
}

// prescan refuses what encoding/xml would hide from the token stream but
// libxml2 reads: a byte-order mark (and with it other encodings), CDATA
// sections (text libvirt reads that a reviewer may not see), NUL.
func prescan(doc []byte) *Violation {
	switch {
	case bytes.HasPrefix(doc, []byte("\xef\xbb\xbf")), bytes.HasPrefix(doc, []byte("\xfe\xff")), bytes.HasPrefix(doc, []byte("\xff\xfe")):
		return parseErr("a byte-order mark is refused: write plain UTF-8")
	case bytes.Contains(doc, []byte("<![CDATA[")):
		return parseErr("CDATA sections are refused")
	case bytes.IndexByte(doc, 0) >= 0:
		return parseErr("NUL byte in document")
	}
	return nil
}

func (p *parser) token(tok xml.Token) *Violation {
	p.tokens++
	if p.tokens > 4*p.lim.maxElements+16 {
		return &Violation{Path: "/", Rule: ruleLimits, Reason: fmt.Sprintf("more than %d tokens", 4*p.lim.maxElements+16)}
	}
	switch t := tok.(type) {
	case xml.ProcInst:
		return p.procInst(t)
	case xml.Directive:
		return parseErr("<!%s> refused: no DOCTYPE, DTD or entity declarations", firstWord(t))
	case xml.Comment:
		if n := p.top(); n != nil {
			n.comment = true
		}
	case xml.CharData:
		return p.charData(t)
	case xml.StartElement:
		return p.startElement(t)
	case xml.EndElement:
		return p.endElement(t)
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

func (p *parser) top() *node {
	if len(p.stack) == 0 {
		return nil
	}
	return p.stack[len(p.stack)-1]
}

// procInst allows only the XML declaration, first, version 1.0, UTF-8.
func (p *parser) procInst(t xml.ProcInst) *Violation {
	if t.Target != "xml" || p.tokens != 1 {
		return parseErr("processing instruction <?%s?> refused", t.Target)
	}
	inst := string(t.Inst)
	if !strings.Contains(inst, `version="1.0"`) && !strings.Contains(inst, `version='1.0'`) {
		return parseErr("XML declaration must say version 1.0")
	}
	return nil
}

func (p *parser) charData(t xml.CharData) *Violation {
	n := p.top()
	if n == nil {
		if !isSpace(t) {
			return parseErr("text outside the root element")
		}
		return nil
	}
	n.text.Write(t)
	return nil
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
