// SPDX-License-Identifier: Apache-2.0

package xmldoc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var testLimits = Limits{MaxBytes: 4096, MaxDepth: 4, MaxElements: 20}

// TestParseRefuses: what Parse refuses, as which Kind, saying what, and
// where it stopped.
func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name, doc string
		kind      Kind // 0: parses
		msg       string
		line, col int // 0: not checked
	}{
		{"plain", "<a><b x='1'/></a>", 0, "", 0, 0},
		{"declaration", "<?xml version='1.0' encoding='UTF-8'?>\n<a/>", 0, "", 0, 0},
		{"comments around", "<!-- c --><a/><!-- d -->\n", 0, "", 0, 0},
		{"default namespace undeclared", "<a xmlns='u'><b xmlns=''/></a>", 0, "", 0, 0},
		{"declaration 1.1", "<?xml version='1.1'?><a/>", Malformed, `unsupported version "1.1"`, 0, 0},
		{"declaration without version", "<?xml encoding='UTF-8'?><a/>", Refused, "version 1.0", 0, 0},
		{"declaration latin1", "<?xml version='1.0' encoding='ISO-8859-1'?><a/>", Malformed, `encoding "ISO-8859-1" declared: only UTF-8 is read`, 0, 0},
		{"declaration spaced", "<?xml version = \"1.0\"\n encoding = 'utf-8' standalone='no' ?><a/>", 0, "", 0, 0},
		{"encoding UTF-7, spaced", "<?xml version='1.0' encoding = 'UTF-7'?><a/>", Refused, "XML declaration", 1, 41},
		{"encoding latin1, space before =", "<?xml version='1.0' encoding ='ISO-8859-1'?><a/>", Refused, "XML declaration", 0, 0},
		{"encoding KOI8-R, broken lines", "<?xml version='1.0' encoding\n=\n'KOI8-R'?><a/>", Refused, "XML declaration", 0, 0},
		{"declaration's unknown member", "<?xml version='1.0' colour='red'?><a/>", Refused, "XML declaration", 0, 0},
		{"standalone maybe", "<?xml version='1.0' standalone='maybe'?><a/>", Refused, "XML declaration", 0, 0},
		{"control character in a comment", "<a><!-- \x01 --></a>", Malformed, "a comment holds a character", 0, 0},
		{"invalid UTF-8 in a comment", "<a><!-- \xff --></a>", Malformed, "a comment holds a character", 0, 0},
		{"xml namespace bound to another prefix", "<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>", Refused, "the xml or xmlns prefix's", 0, 0},
		{"xmlns namespace as the default", "<a xmlns='http://www.w3.org/2000/xmlns/'/>", Refused, "the xml or xmlns prefix's", 0, 0},
		{"a namespace undone at its element's end", "<a><b xmlns:p='u'/><p:c/></a>", Refused, `element prefix "p" is not bound`, 0, 0},
		{"declaration late", "<a/><?xml version='1.0'?>", Refused, "processing instruction <?xml?>", 0, 0},
		{"stylesheet", "<?xml-stylesheet href='x'?><a/>", Refused, "processing instruction <?xml-stylesheet?>", 0, 0},
		{"doctype", "<!DOCTYPE a><a/>", Refused, "<!DOCTYPE> refused", 1, 13},
		{"entity declared", "<!DOCTYPE a [<!ENTITY n 'x'>]><a>&n;</a>", Refused, "<!DOCTYPE> refused", 0, 0},
		{"entity undeclared", "<a>&x;</a>", Malformed, "invalid character entity &x;", 0, 0},
		{"bom", "\ufeff<a/>", Refused, "byte-order mark", 1, 1},
		{"utf-16 bom", "\xff\xfe<\x00a\x00/\x00>\x00", Refused, "byte-order mark", 1, 1},
		{"cdata", "<a>\n  <![CDATA[x]]></a>", Refused, "CDATA", 2, 3},
		{"nul", "<a>\x00</a>", Refused, "NUL", 1, 4},
		{"control character", "<a>&#x1b;</a>", Malformed, "illegal character code U+001B", 0, 0},
		{"duplicate attribute", "<a x='1' x='2'/>", Refused, "Attribute x redefined", 0, 0},
		{"duplicate through prefixes", "<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>", Refused, "Attribute q:x redefined", 0, 0},
		{"unbound element prefix", "<p:a/>", Refused, `element prefix "p" is not bound`, 0, 0},
		{"unbound attribute prefix", "<a p:x='1'/>", Refused, `attribute prefix "p" is not bound`, 0, 0},
		{"xmlns prefix declared", "<a xmlns:xmlns='u'/>", Refused, "namespace declaration", 0, 0},
		{"xml prefix declared", "<a xmlns:xml='u'/>", Refused, "namespace declaration", 0, 0},
		{"empty prefix binding", "<a xmlns:p=''/>", Refused, "namespace declaration", 0, 0},
		{"mismatched end", "<a>\n<b></c></a>", Malformed, "</c> does not match", 2, 8},
		{"two roots", "<a/><b/>", Malformed, "Extra content at the end of the document", 0, 0},
		{"text outside", "<a/>x", Malformed, "text outside the root element", 0, 0},
		{"empty", "", Malformed, "Document is empty", 0, 0},
		{"no root", "<!-- only -->", Malformed, "Document is empty", 0, 0},
		{"unclosed", "<a><b/>", Malformed, "<a> is not closed", 0, 0},
		{"deep", "<a><a><a><a><a/></a></a></a></a>", Limit, "nested deeper than 4", 0, 0},
		{"many", "<a>" + strings.Repeat("<b/>", 20) + "</a>", Limit, "more than 20 elements", 0, 0},
		{"many tokens", "<a>" + strings.Repeat("<!---->", 100) + "</a>", Limit, "more than 96 tokens", 0, 0},
		{"huge", "<a>" + strings.Repeat(" ", 5000) + "</a>", Limit, "5007 bytes, more than 4096", 0, 0},
		{"colon in local name", "<a xmlns:p='u'><p:b:c/></a>", Malformed, "expected element name after <", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), testLimits)
			var e *Error
			switch {
			case tt.kind == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.kind == 0:
				return
			case !errors.As(err, &e):
				t.Fatalf("Parse = %v, want an *Error", err)
			case e.Kind != tt.kind || !strings.Contains(e.Msg, tt.msg):
				t.Fatalf("Parse = %d %q, want %d saying %q", e.Kind, e.Msg, tt.kind, tt.msg)
			case tt.line != 0 && (e.Line != tt.line || e.Col != tt.col):
				t.Fatalf("at %d:%d, want %d:%d", e.Line, e.Col, tt.line, tt.col)
			}
		})
	}
}

// TestLimitNamed: a limit's Error says which, and its value.
func TestLimitNamed(t *testing.T) {
	_, err := Parse([]byte("<a><a><a><a><a/></a></a></a></a>"), testLimits)
	var e *Error
	if !errors.As(err, &e) || e.Limit != LimitDepth || e.Max != 4 {
		t.Fatalf("Parse = %#v, want the depth limit 4", err)
	}
}

// TestNamespaces: each element's namespace as libxml2 resolves it.
func TestNamespaces(t *testing.T) {
	root, err := Parse([]byte("<a xmlns:p='u'><p:b/><c xmlns='v'><d/></c><e/></a>"), testLimits)
	if err != nil {
		t.Fatal(err)
	}
	c := root.Children[1]
	for _, tt := range []struct {
		e        *Element
		name, ns string
	}{{root, "a", ""}, {root.Children[0], "p:b", "u"}, {c, "c", "v"}, {c.Children[0], "d", "v"}, {root.Children[2], "e", ""}} {
		if tt.e.QName() != tt.name || tt.e.NS != tt.ns {
			t.Errorf("<%s> in %q, want <%s> in %q", tt.e.QName(), tt.e.NS, tt.name, tt.ns)
		}
	}
	if root.Child("b") != nil || root.Child("c") != nil || root.Child("e") != root.Children[2] {
		t.Error("Child found an element in a namespace, or missed one in none")
	}
}

// TestValue: the string-value is all the text inside, in document
// order, whatever Keep drops of the tree, and cut at the bound asked.
func TestValue(t *testing.T) {
	doc := []byte("<r><n>a<b>b<c>c<d>d</d>e</c>f</b>g<!-- x -->h<p:i xmlns:p='u'>i</p:i>j</n></r>")
	for _, keep := range []int{0, 2, 3, 4} {
		lim := testLimits
		lim.Keep, lim.MaxDepth = keep, 8
		root, err := Parse(doc, lim)
		if err != nil {
			t.Fatal(err)
		}
		if got := root.Child("n").Value(100); got != "abcdefghij" {
			t.Errorf("Keep %d: Value = %q", keep, got)
		}
		if got := root.Child("n").Value(4); got != "abcd" {
			t.Errorf("Keep %d: Value(4) = %q", keep, got)
		}
	}
	lim := testLimits
	lim.Keep = 2
	root, _ := Parse(doc, lim)
	if b := root.Child("n").Child("b"); b != nil {
		t.Errorf("Keep 2 kept a third level: <%s>", b.Local)
	}
}

// TestAttr: attributes in no namespace, as libvirt's ./@name reads them.
func TestAttr(t *testing.T) {
	root, err := Parse([]byte("<a xmlns:p='u' p:x='1' y='2'/>"), testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := root.Attr("x"); ok {
		t.Error("Attr found a namespaced attribute")
	}
	if v, ok := root.Attr("y"); !ok || v != "2" {
		t.Errorf("Attr(y) = %q %v", v, ok)
	}
	if _, ok := (*Element)(nil).Attr("y"); ok {
		t.Error("a missing element has attributes")
	}
}

// FuzzParse: no document panics Parse; one it reads, encoding/xml's own
// namespace-aware decoder reads too, finding the same elements in the
// same namespaces; and dropping levels (Keep) changes neither the
// verdict nor any kept element's string-value. The XML policy's corpus
// (real definitions and hostile ones) seeds it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"<a><b x='1'>t<c/>u</b></a>", "<a xmlns:p='u'><p:b p:x='1'/></a>",
		"<?xml version='1.0'?><a><!-- c --><b>x<c>y<d>z</d></c></b></a>", "<!DOCTYPE a><a/>", "<a>&#x1b;</a>",
		"<a xmlns='u'><b xmlns=''><xml:c/></b></a>"} {
		f.Add([]byte(s))
	}
	corpus, _ := filepath.Glob(filepath.Join("..", "..", "xmlpolicy", "testdata", "*", "*.xml"))
	for _, name := range corpus {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		lim := Limits{MaxBytes: 1 << 18, MaxDepth: 16, MaxElements: 2000}
		full, err := Parse(doc, lim)
		lim.Keep = 2
		kept, errKept := Parse(doc, lim)
		if (err == nil) != (errKept == nil) {
			t.Fatalf("Keep changed the verdict: %v, then %v", err, errKept)
		}
		if err != nil {
			return
		}
		sameAsStd(t, doc, full)
		sameValues(t, full, kept, 2)
	})
}

// sameAsStd wants encoding/xml's Token to read doc, with the elements of
// root's tree in document order, each in the namespace Parse resolved.
func sameAsStd(t *testing.T, doc []byte, root *Element) {
	var order []*Element
	var walk func(*Element)
	walk = func(e *Element) {
		order = append(order, e)
		for _, c := range e.Children {
			walk(c)
		}
	}
	walk(root)
	d := xml.NewDecoder(bytes.NewReader(doc))
	for i := 0; ; {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if i != len(order) {
				t.Fatalf("encoding/xml read %d elements, Parse %d", i, len(order))
			}
			return
		}
		if err != nil {
			t.Fatalf("Parse read it, encoding/xml refuses: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if i >= len(order) || se.Name.Local != order[i].Local || se.Name.Space != order[i].NS {
				t.Fatalf("element %d: encoding/xml reads {%s}%s, Parse %+v", i, se.Name.Space, se.Name.Local, order[min(i, len(order)-1)])
			}
			i++
		}
	}
}

func sameValues(t *testing.T, full, kept *Element, levels int) {
	if a, b := full.Value(1<<16), kept.Value(1<<16); a != b {
		t.Fatalf("<%s>: Value %q, with Keep %q", full.Local, a, b)
	}
	if levels > 1 {
		for i, c := range kept.Children {
			sameValues(t, full.Children[i], c, levels-1)
		}
	}
}

// TestParseAllocations bounds what reading one more element costs in
// allocations: encoding/xml's tokens take about 6 (its name, attributes
// and copies), the kept Element one. An element that declares no
// namespace shares its parent's scope; a map made for each (as a
// change once did) showed here as 8.
func TestParseAllocations(t *testing.T) {
	lim := Limits{MaxBytes: 1 << 20, MaxDepth: 64, MaxElements: 10000, Keep: 3}
	allocs := func(n int) float64 {
		doc := []byte("<domain><devices>" + strings.Repeat(`<disk type="file"><source file="/x"/></disk>`, n) + "</devices></domain>")
		return testing.AllocsPerRun(10, func() {
			if _, err := Parse(doc, lim); err != nil {
				t.Fatal(err)
			}
		})
	}
	const elements = 2 * 100 // a disk and its source, 100 times more
	if per := (allocs(200) - allocs(100)) / elements; per > 7.5 {
		t.Errorf("%.1f allocations per element read, want at most 7.5", per)
	}
}

// TestNamespaceDeclarationsCostAlike: a namespace declaration costs the
// same however many are in scope. Copying the bindings in scope into
// every element that declared one made a document of D declarations on
// its root and N such children cost D x N (seconds for a few hundred
// kilobytes); the bytes allocated here would grow with D.
func TestNamespaceDeclarationsCostAlike(t *testing.T) {
	lim := Limits{MaxBytes: 1 << 20, MaxDepth: 64, MaxElements: 10000, Keep: 1}
	allocated := func(decls, children int) uint64 {
		var root strings.Builder
		root.WriteString("<a")
		for i := range decls {
			fmt.Fprintf(&root, " xmlns:p%d='u%d'", i, i)
		}
		root.WriteString(">")
		doc := []byte(root.String() + strings.Repeat("<b xmlns='x'/>", children) + "</a>")
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := Parse(doc, lim); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	// What 500 more children cost, under few declarations and many.
	perChildren := func(decls int) uint64 { return allocated(decls, 1000) - allocated(decls, 500) }
	few, many := perChildren(4), perChildren(400)
	if many > 2*few {
		t.Errorf("500 children declaring a namespace allocated %d bytes under 4 declarations, %d under 400: the bindings in scope are copied", few, many)
	}
}
