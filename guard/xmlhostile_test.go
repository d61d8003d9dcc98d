// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// TestHostileXMLRefusedAlike: the guard's reading of a definition (the
// object it decides on) and the XML content policy refuse each hostile
// document, for the same reason, at the same line: both read through
// internal/xmldoc. The guard answers libvirt's XML error with it; the
// policy, a violation of its rule xml or limits.
func TestHostileXMLRefusedAlike(t *testing.T) {
	deep := "<domain>" + strings.Repeat("<a>", xmlRefuseDepth) + strings.Repeat("</a>", xmlRefuseDepth) + "</domain>"
	tests := []struct {
		name, doc, why string
		limit          bool // a limit, not the document's form: the two bounds differ, the reason not
		notLibvirts    bool // libvirt would read it: the guard refuses it as a document it cannot decide on
	}{
		{"internal DTD entity", "<!DOCTYPE domain [<!ENTITY n 'x'>]><domain><name>&n;</name></domain>", "<!DOCTYPE> refused", false, false},
		{"external entity", "<!DOCTYPE domain [<!ENTITY n SYSTEM 'file:///etc/shadow'>]>\n<domain><name>&n;</name></domain>", "<!DOCTYPE> refused", false, false},
		{"external DTD", "<!DOCTYPE domain SYSTEM 'http://example.org/d.dtd'><domain/>", "<!DOCTYPE> refused", false, false},
		{"entity expansion", "<!DOCTYPE domain [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;&a;'>]><domain><name>&b;</name></domain>", "<!DOCTYPE> refused", false, false},
		{"stylesheet", "<?xml-stylesheet href='x.xsl'?><domain/>", "processing instruction <?xml-stylesheet?> refused", false, false},
		{"instruction inside", "<domain>\n<?php echo 1 ?><name>a</name></domain>", "processing instruction <?php?> refused", false, false},
		{"declaration late", "<!-- c --><?xml version='1.0'?><domain/>", "processing instruction <?xml?> refused", false, false},
		{"declaration 1.1", "<?xml version='1.1'?><domain/>", "unsupported version", false, false},
		{"declaration without version", "<?xml encoding='UTF-8'?><domain/>", "version 1.0", false, false},
		{"declared latin-1", "<?xml version='1.0' encoding='ISO-8859-1'?><domain/>", `encoding "ISO-8859-1" declared`, false, false},
		{"utf-8 byte-order mark", "\ufeff<domain/>", "byte-order mark", false, false},
		{"utf-16", "\xff\xfe<\x00d\x00/\x00>\x00", "byte-order mark", false, false},
		{"cdata name", "<domain>\n<name><![CDATA[a]]></name></domain>", "CDATA sections are refused", false, false},
		{"nul", "<domain><name>a\x00</name></domain>", "NUL byte", false, false},
		{"control character", "<domain><name>a&#x1b;</name></domain>", "illegal character code U+001B", false, false},
		{"duplicate attribute", "<domain type='kvm' type='qemu'/>", "Attribute type redefined", false, false},
		{"duplicate through prefixes", "<domain xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>", "Attribute q:x redefined", false, false},
		{"unbound element prefix", "<domain><q:name>a</q:name></domain>", `element prefix "q" is not bound`, false, false},
		{"unbound attribute prefix", "<domain q:type='kvm'/>", `attribute prefix "q" is not bound`, false, false},
		{"xml prefix rebound", "<domain xmlns:xml='u'/>", "namespace declaration", false, false},
		{"empty prefix binding", "<domain xmlns:q=''/>", "namespace declaration", false, false},
		{"colons in a name", "<domain xmlns:a='u'><a:b:c/></domain>", "expected element name after <", false, false},
		{"encoding UTF-7, spaced", "<?xml version='1.0' encoding = 'UTF-7'?>\n<domain/>", "XML declaration", false, false},
		{"encoding latin1, space before =", "<?xml version='1.0' encoding ='ISO-8859-1'?><domain/>", "XML declaration", false, false},
		{"control character in a comment", "<domain><!-- \x01 --></domain>", "a comment holds a character", false, false},
		{"xml namespace rebound", "<domain xmlns:p='http://www.w3.org/XML/1998/namespace'/>", "the xml or xmlns prefix's", false, false},
		{"two roots", "<domain/>\n<domain/>", "Extra content at the end of the document", false, false},
		{"text after the root", "<domain/>x", "text outside the root element", false, false},
		{"unclosed", "<domain>\n<name>a</name>\n", "<domain> is not closed", false, false},
		{"mismatched end", "<domain><name>a</nam></domain>", "</nam> does not match its start tag", false, false},
		{"empty", "", "Document is empty", false, false},
		{"only a comment", "<!-- nothing -->", "Document is empty", false, false},
		{"deep", deep, "elements nested deeper than", true, false},
		{"tab in an attribute", "<domain type='kv\tm'/>", "tab or line break", false, true},
	}
	policy := xmlpolicy.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, perr := policy.Check(xmlpolicy.Domain, []byte(tt.doc))
			var v *xmlpolicy.Violation
			if !errors.As(perr, &v) || (v.Rule != "xml" && v.Rule != "limits") || !strings.Contains(v.Reason, tt.why) {
				t.Fatalf("policy: %v, want rule xml or limits saying %q", perr, tt.why)
			}
			_, gerr := readXML(tt.doc, xmlKinds[acl.Domain])
			if tt.notLibvirts {
				var de *docError
				if !errors.Is(gerr, errUnsupported) || errors.As(gerr, &de) || !strings.Contains(gerr.Error(), tt.why) {
					t.Fatalf("guard: %v, want a refusal saying %q", gerr, tt.why)
				}
				return
			}
			detail := guardDetail(t, gerr)
			if !strings.Contains(detail, tt.why) {
				t.Fatalf("guard: %q, want it to say %q", detail, tt.why)
			}
			if line := strings.SplitN(detail, ":", 3)[1]; !tt.limit && !strings.Contains(v.Reason, fmt.Sprintf("line %s:", line)) {
				t.Errorf("guard says line %s (%q), the policy %q", line, detail, v.Reason)
			}
		})
	}
}

// guardDetail is the detail of libvirt's XML error the guard answers
// err with: "(domain_definition):LINE: ...".
func guardDetail(t *testing.T, err error) string {
	t.Helper()
	var de *docError
	if !errors.As(err, &de) || de.code != errXMLDetail || !strings.HasPrefix(de.detail, "(domain_definition):") {
		t.Fatalf("guard: %v, want libvirt's VIR_ERR_XML_DETAIL", err)
	}
	return de.detail
}

// TestCorpusReadAlike: the policy's accepted corpus (real virt-install
// and virt-manager definitions) passes both, and both read the same name.
func TestCorpusReadAlike(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "xmlpolicy", "testdata", "accepted", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	policy := xmlpolicy.Default()
	for _, name := range files {
		doc, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		uses, perr := policy.Check(xmlpolicy.Domain, doc)
		root, gerr := readXML(string(doc), xmlKinds[acl.Domain])
		if perr != nil || gerr != nil {
			t.Fatalf("%s: policy %v, guard %v", name, perr, gerr)
		}
		if got, _ := childText(root, "name"); got != uses.Name {
			t.Errorf("%s: the guard reads the name %q, the policy %q", name, got, uses.Name)
		}
	}
}

// TestXMLElementsBounded: the guard reads at most xmlMaxElements elements
// of a document (a protocol string could carry a million, and the tree
// of them hold 256 MiB); one more is refused as the guard's own limit.
func TestXMLElementsBounded(t *testing.T) {
	doc := func(n int) string { return "<domain>" + strings.Repeat("<a/>", n-1) + "</domain>" }
	if _, err := readXML(doc(xmlMaxElements), xmlKinds[acl.Domain]); err != nil {
		t.Fatalf("%d elements: %v", xmlMaxElements, err)
	}
	_, err := readXML(doc(xmlMaxElements+1), xmlKinds[acl.Domain])
	if detail := guardDetail(t, err); !strings.Contains(detail, "more than 100000 elements"+guardRefused) {
		t.Fatalf("%d elements: %q", xmlMaxElements+1, detail)
	}
}
