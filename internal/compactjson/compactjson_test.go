// SPDX-License-Identifier: Apache-2.0

package compactjson

import (
	"fmt"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

func TestReaderNumbers(t *testing.T) {
	for _, tc := range []struct {
		in    string
		int64 bool // read as an int64
		uint  bool // read as a uint64
		want  uint64
	}{
		{"0", true, true, 0},
		{"7", true, true, 7},
		{"9223372036854775807", true, true, 1<<63 - 1},
		{"9223372036854775808", false, true, 1 << 63},
		{"18446744073709551615", false, true, 1<<64 - 1},
		{"18446744073709551616", false, false, 0},
		{"99999999999999999999", false, false, 0},
		{"-1", false, false, 0},
		{"01", false, false, 0},
		{"1.5", false, false, 0},
		{"1e3", false, false, 0},
		{"1E3", false, false, 0},
		{"", false, false, 0},
		{"x", false, false, 0},
		{"true", false, false, 0},
	} {
		r := NewReader([]byte(tc.in))
		if v := r.Int64(); r.Done() != tc.int64 || tc.int64 && uint64(v) != tc.want {
			t.Errorf("Int64(%q) = %d, done %v; want %d, %v", tc.in, v, r.Done(), tc.want, tc.int64)
		}
		r = NewReader([]byte(tc.in))
		if v := r.Uint64(); r.Done() != tc.uint || tc.uint && v != tc.want {
			t.Errorf("Uint64(%q) = %d, done %v; want %d, %v", tc.in, v, r.Done(), tc.want, tc.uint)
		}
	}
}

func TestReaderStrings(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{`"a"`, "a", true},
		{`""`, "", true},
		{`"é😀"`, "é😀", true},
		{`"a\"b"`, "", false},
		{`"a\nb"`, "", false},
		{"\"a\tb\"", "", false},
		{"\"\xff\"", "", false},
		{"\"\xed\xa0\x80\"", "", false}, // a UTF-16 surrogate in UTF-8
		{`"unterminated`, "", false},
		{`a"`, "", false},
	} {
		r := NewReader([]byte(tc.in))
		if got := r.String(); r.Done() != tc.ok || got != tc.want {
			t.Errorf("String(%q) = %q, done %v; want %q, %v", tc.in, got, r.Done(), tc.want, tc.ok)
		}
	}
}

// TestReaderInterned checks that equal strings share one copy, and that a
// Reader stops interning past its bound but still reads.
func TestReaderInterned(t *testing.T) {
	in := []byte(`["domain","domain"`)
	for i := range maxInterned + 2 {
		in = append(in, `,"s`...)
		in = append(in, byte('a'+i))
		in = append(in, '"')
	}
	in = append(in, `,"domain"]`...)
	r := NewReader(in)
	var got []string
	for n := 0; r.Elem(&n); {
		got = append(got, r.Interned())
	}
	if !r.Done() || len(got) != maxInterned+5 {
		t.Fatalf("read %q, done %v", got, r.Done())
	}
	if unsafe.StringData(got[0]) != unsafe.StringData(got[1]) || unsafe.StringData(got[0]) != unsafe.StringData(got[len(got)-1]) {
		t.Fatalf("read %q", got)
	}
	if r.ninterned != maxInterned {
		t.Fatalf("interned %d strings, bound %d", r.ninterned, maxInterned)
	}
}

func TestReaderStructure(t *testing.T) {
	for _, tc := range []struct {
		in      string
		members []string
		ok      bool
	}{
		{`{}`, nil, true},
		{`{"a":true,"b":false}`, []string{"a", "b"}, true},
		{`{"a":true,}`, []string{"a"}, false},
		{`{"a":true "b":false}`, []string{"a"}, false},
		{`{"a" :true}`, nil, false},
		{`{ "a":true}`, nil, false},
		{`{"a":true`, []string{"a"}, false},
		{`{"a":null}`, []string{"a"}, false},
		{`[]`, nil, false},
	} {
		r := NewReader([]byte(tc.in))
		var names []string
		for n := 0; r.Member(&n); {
			name := string(r.name())
			if r.bad {
				break
			}
			names = append(names, name)
			r.Bool()
		}
		if r.Done() != tc.ok || len(names) != len(tc.members) {
			t.Errorf("%s: members %q, done %v; want %q, %v", tc.in, names, r.Done(), tc.members, tc.ok)
		}
	}
}

// TestAppendString compares the strings written with the library's, and
// checks that only invalid UTF-8 is left to it.
func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `"`, `\`, "\x00\x01\x1f", "\b\f\n\r\t", "\x7f", "é", "\u2028\u2029", "<>&", "😀", "\xff", "a\xc3"} {
		want, err := json.Marshal(s, jsontext.AllowInvalidUTF8(true))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := AppendString(nil, s)
		if ok != utf8.ValidString(s) || ok && string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, %v; the library writes %s", s, got, ok, want)
		}
	}
}

func TestReaderField(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{`{"b":true,"a":false}`, []int{1, 0}, true},
		{`{"a":true,"c":true}`, []int{0, -1}, false},
		{`{"a":true,"a":true}`, []int{0, -1}, false},
		{`{}`, nil, true},
	} {
		r := NewReader([]byte(tc.in))
		var seen uint64
		var got []int
		for n := 0; r.Member(&n); {
			i := r.Field(&seen, "a", "b")
			got = append(got, i)
			if i >= 0 {
				r.Bool()
			}
		}
		if r.Done() != tc.ok || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: fields %v, done %v; want %v, %v", tc.in, got, r.Done(), tc.want, tc.ok)
		}
	}
}
