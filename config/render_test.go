// SPDX-License-Identifier: Apache-2.0

package config

import (
	"bytes"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const committedFile = "../conf/virt-acl-helper.conf"

func TestCommittedFileIsCurrent(t *testing.T) {
	committed, err := os.ReadFile(committedFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, DefaultFile()) {
		t.Errorf("%s differs from the key table; run: go generate ./config/", committedFile)
	}
}

func TestDefaultFileParsesToDefault(t *testing.T) {
	got, err := Parse(bytes.NewReader(DefaultFile()), testName)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if want := Default(); !reflect.DeepEqual(want, got) {
		t.Errorf("Parse:\nwant %+v\ngot  %+v", want, got)
	}
}

// settingLine matches a commented-out setting, and no line of doc text.
var settingLine = regexp.MustCompile(`(?m)^#([a-z_]+ = )`)

func TestUncommentedDefaultFile(t *testing.T) {
	file := DefaultFile()
	if n, want := len(settingLine.FindAll(file, -1)), len(settings()); n != want {
		t.Fatalf("default file has %d commented settings, want %d", n, want)
	}
	for _, crlf := range []bool{false, true} {
		in := settingLine.ReplaceAll(file, []byte("$1"))
		if crlf {
			in = bytes.ReplaceAll(in, []byte("\n"), []byte("\r\n"))
		}
		got, err := Parse(bytes.NewReader(in), testName)
		if err != nil {
			t.Fatalf("Parse (CRLF %v): %v", crlf, err)
		}
		if want := Default(); !reflect.DeepEqual(want, got) {
			t.Errorf("Parse (CRLF %v):\nwant %+v\ngot  %+v", crlf, want, got)
		}
	}
}

func TestDefaultFileLayout(t *testing.T) {
	file := string(DefaultFile())
	if !strings.HasSuffix(file, "\n") || strings.HasSuffix(file, "\n\n") {
		t.Error("default file must end in exactly one newline")
	}
	for i, line := range strings.Split(strings.TrimSuffix(file, "\n"), "\n") {
		if len(line) > 72 {
			t.Errorf("line %d is longer than 72 bytes: %q", i+1, line)
		}
		if strings.TrimRight(line, " \t") != line {
			t.Errorf("line %d has trailing white space: %q", i+1, line)
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf("line %d is not a comment: %q", i+1, line)
		}
	}
	for _, s := range settings() {
		if n := strings.Count(file, "\n#"+s.name+" = "); n != 1 {
			t.Errorf("key %s appears %d times, want once", s.name, n)
		}
	}
}
