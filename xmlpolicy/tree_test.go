// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"strings"
	"testing"
)

// TestParse: what the strict parse refuses, and that it refuses it
// before any rule is asked.
func TestParse(t *testing.T) {
	lim := limits{maxBytes: 4096, maxDepth: 4, maxElements: 20, maxOpaqueBytes: 100}
	tests := []struct {
		name, doc, want string // want: "" parses, else a piece of the reason
	}{
		{"plain", "<a><b x='1'/></a>", ""},
		{"declaration", "<?xml version='1.0' encoding='UTF-8'?>\n<a/>", ""},
		{"comments around", "<!-- c --><a/><!-- d -->\n", ""},
		{"declaration 1.1", "<?xml version='1.1'?><a/>", "version 1.0"},
		{"declaration latin1", "<?xml version='1.0' encoding='ISO-8859-1'?><a/>", "not well-formed"},
		{"declaration late", "<a/><?xml version='1.0'?>", "processing instruction"},
		{"stylesheet", "<?xml-stylesheet href='x'?><a/>", "processing instruction"},
		{"doctype", "<!DOCTYPE a><a/>", "<!DOCTYPE> refused"},
		{"entity", "<a>&x;</a>", "not well-formed"},
		{"bom", "\ufeff<a/>", "byte-order mark"},
		{"utf-16 bom", "\xff\xfe<\x00a\x00/\x00>\x00", "byte-order mark"},
		{"cdata", "<a><![CDATA[x]]></a>", "CDATA"},
		{"nul", "<a>\x00</a>", "NUL"},
		{"duplicate attribute", "<a x='1' x='2'/>", "redefined"},
		{"duplicate through prefixes", "<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>", "redefined"},
		{"unbound element prefix", "<p:a/>", "not bound"},
		{"unbound attribute prefix", "<a p:x='1'/>", "not bound"},
		{"xmlns prefix declared", "<a xmlns:xmlns='u'/>", "namespace declaration"},
		{"empty prefix binding", "<a xmlns:p=''/>", "namespace declaration"},
		{"mismatched end", "<a><b></c></a>", "does not match"},
		{"two roots", "<a/><b/>", "Extra content"},
		{"text outside", "<a/>x", "outside the root"},
		{"no root", "<!-- only -->", "Document is empty"},
		{"unclosed", "<a><b/>", "<a> is not closed"},
		{"deep", "<a><a><a><a><a/></a></a></a></a>", "max_depth"},
		{"many", "<a>" + strings.Repeat("<b/>", 20) + "</a>", "max_elements"},
		{"huge", "<a>" + strings.Repeat(" ", 5000) + "</a>", "max_bytes"},
		{"colon in local name", "<a xmlns:p='u'><p:b:c/></a>", "not well-formed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, v := parse([]byte(tt.doc), lim)
			switch {
			case tt.want == "" && v != nil:
				t.Fatalf("refused: %v", v)
			case tt.want != "" && (v == nil || !strings.Contains(v.Reason, tt.want)):
				t.Fatalf("parse = %v, want a refusal saying %q", v, tt.want)
			case v != nil && v.Rule != ruleXML && v.Rule != ruleLimits:
				t.Fatalf("refused under rule %s, want xml or limits", v.Rule)
			}
		})
	}
}
