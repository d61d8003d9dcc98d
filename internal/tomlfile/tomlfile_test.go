// SPDX-License-Identifier: Apache-2.0

package tomlfile

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

type doc struct {
	A struct {
		B int `toml:"b"`
	} `toml:"a"`
	T []struct {
		C string `toml:"c"`
	} `toml:"t"`
}

// TestDecode: the lines of keys, tables and array tables; errors name the
// file and line.
func TestDecode(t *testing.T) {
	var d doc
	lines, err := Decode("f.toml", []byte("\ufeff[a]\nb = 1\n\n[[t]]\nc = \"x\"\n[[t]]\nc = \"y\"\n"), &d)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"a": 1, "a.b": 2, "t.0": 4, "t.0.c": 5, "t.1": 6, "t.1.c": 7}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("lines = %v, want %v", lines, want)
	}
	for in, msg := range map[string]string{
		"[a]\nb = 1\nz = 2\n": "f.toml:3: unknown key a.z",
		"[a]\nb = \"x\"\n":    "f.toml:2:",
		"[a\n":                "f.toml:1:",
	} {
		_, err := Decode("f.toml", []byte(in), &d)
		var e *Error
		if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), msg) {
			t.Errorf("Decode(%q) = %v, want %q", in, err, msg)
		}
	}
}
