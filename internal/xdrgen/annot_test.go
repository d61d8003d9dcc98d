// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		text string
		want ACLRule
	}{
		{"domain:start", ACLRule{Object: "domain", Perm: "start"}},
		{"domain:read_secure:VIR_DOMAIN_XML_SECURE",
			ACLRule{Object: "domain", Perm: "read_secure", Flags: []string{"VIR_DOMAIN_XML_SECURE"}}},
		{"domain:write:A|B", ACLRule{Object: "domain", Perm: "write", Flags: []string{"A", "B"}}},
		{"domain:save:!A|B", ACLRule{Object: "domain", Perm: "save", Flags: []string{"A", "B"}, FlagsNone: true}},
		{"domain:write::source:V", ACLRule{Object: "domain", Perm: "write", Param: "source", Value: "V"}},
		{"domain:write::source:!V", ACLRule{Object: "domain", Perm: "write", Param: "source", Value: "V", ValueNegate: true}},
		{"domain:write:F:source:V", ACLRule{Object: "domain", Perm: "write", Flags: []string{"F"}, Param: "source", Value: "V"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := parseRule(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Text = tt.text
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"domain", "domain:", ":start", "domain:start:", "domain:start:A||B",
		"domain:start:!", "domain:start::source", "domain:start::source:", "a:b:c:d", "a:b:!A|!B"} {
		if _, err := parseRule(bad); err == nil {
			t.Errorf("parseRule(%q) succeeded", bad)
		}
	}
}

func TestParseAnnotations(t *testing.T) {
	doc := "/**\n * @generate: both\n * @priority: high\n * @readstream: 1\n * @sparseflag: F\n" +
		" * @acl: domain:read\n * @acl: domain:read_secure:F\n * @aclfilter: domain:getattr\n *\n */"
	a, err := parseAnnotations(doc)
	if err != nil {
		t.Fatal(err)
	}
	if a.Generate != "both" || a.Priority != "high" || a.ReadStream != "1" || a.SparseFlag != "F" ||
		len(a.ACL) != 2 || len(a.ACLFilter) != 1 || a.NoACL {
		t.Errorf("got %+v", a)
	}
	for _, tt := range []struct{ doc, want string }{
		{"/**\n * @generate: sometimes\n */", "invalid value"},
		{"/**\n * @generate: both\n * @generate: none\n */", "given twice"},
		{"/**\n * @acl: none\n * @acl: domain:read\n */", "none and a rule"},
		{"/**\n * @acl: domain:read\n * @acl: none\n */", "only @acl"},
		{"/**\n * @aclfilter: domain:read:F\n */", "cannot be conditional"},
		{"/**\n * @colour: blue\n */", "unknown annotation"},
		{"/**\n * free text\n */", "cannot parse"},
	} {
		if _, err := parseAnnotations(tt.doc); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.doc, err, tt.want)
		}
	}
}
