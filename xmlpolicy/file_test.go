// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// minimal is the smallest valid policy file; tests append to it.
const minimal = `version = 1
pools = ["p"]
networks = ["n"]
[limits]
max_bytes = 4096
max_depth = 8
max_elements = 100
max_opaque_bytes = 512
[rule.domain]
why = "test"
[rule.domain.element."domain"]
attrs = { type = ["qemu"] }
`

// TestParseErrors: every mistake in a policy file is an error naming the
// file and the line.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"unknown key", minimal + "colour = 1\n", "t.toml:13: unknown key rule.domain.element.domain.colour"},
		{"unknown top key", "verison = 1\n" + minimal[len("version = 1\n"):], "t.toml:1: unknown key verison"},
		{"version", strings.Replace(minimal, "version = 1", "version = 2", 1), "t.toml:1: version = 2"},
		{"limit missing", strings.Replace(minimal, "max_depth = 8\n", "", 1), "t.toml:4: limits.max_depth must be set"},
		{"depth above libxml2", strings.Replace(minimal, "max_depth = 8", "max_depth = 300", 1), "t.toml:6: limits.max_depth above 256"},
		{"no why", strings.Replace(minimal, `why = "test"`, `why = ""`, 1), "t.toml:9: rule domain: why is missing"},
		{"reserved name", minimal + "[rule.xml]\nwhy = \"x\"\n[rule.xml.element.\"domain/x\"]\n", "t.toml:13: rule name \"xml\" is reserved"},
		{"bad constraint", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain/x\"]\nattrs = { v = \"integer 1..2\" }\n", `t.toml:16: attribute v: unknown constraint "integer 1..2"`},
		{"bad range", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain/x\"]\ntext = \"int 5..1\"\n", "t.toml:16: text: range \"5..1\": MIN above MAX"},
		{"bad regex", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain/x\"]\ntext = \"regex (\"\n", "t.toml:16: text: regex"},
		{"empty enum", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain/x\"]\ntext = []\n", "t.toml:16: text: empty enumeration"},
		{"enum of numbers", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain/x\"]\ntext = [1, 2]\n", "values must be strings"},
		{"bad path", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"/domain/x\"]\n", "t.toml:15: element path \"/domain/x\""},
		{"element twice", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain\"]\n", "element domain is already in rule"},
		{"bad require", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain/x\"]\nrequire = [\"a if b\"]\n", "t.toml:16: require: require \"a if b\": condition must be PATH=VALUE"},
		{"orphan", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain/x/y\"]\n", "t.toml:15: element domain/x/y can never be reached"},
		{"under a same_as", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain/x\"]\nsame_as = \"domain\"\n[rule.a.element.\"domain/x/y\"]\n", "t.toml:17: element domain/x/y can never be reached"},
		{"same_as nowhere", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain/x\"]\nsame_as = \"domain/y\"\n", "t.toml:16: same_as \"domain/y\" names no element"},
		{"same_as with settings", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain/x\"]\nsame_as = \"domain\"\nmax = 1\ntext = \"text\"\n", "same_as takes every other setting"},
		{"namespaced attribute", minimal + "[rule.a]\nwhy = \"x\"\n[rule.a.element.\"domain/x\"]\nattrs = { \"q:v\" = \"text\" }\n", "namespaced and odd names cannot be allowed"},
		{"wrong type", strings.Replace(minimal, `pools = ["p"]`, `pools = "p"`, 1), "t.toml:2:"},
		{"not toml", "[rule\n", "t.toml:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.toml", []byte(tt.file))
			var fe *FileError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want a *FileError containing %q", err, tt.want)
			}
		})
	}
}

// TestDefaultFileIsTheBuiltIn: the file the packages install is the one
// Default parses, and Load reads it the same.
func TestDefaultFileIsTheBuiltIn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xml-policy.toml")
	if err := os.WriteFile(path, DefaultFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := corpus(t, "accepted")["virt-install-q35-spice"]
	if _, err := p.Check(Domain, doc); err != nil {
		t.Errorf("loaded default refuses the corpus: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want not-exist", err)
	}
}
