// SPDX-License-Identifier: Apache-2.0

package config

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every config it accepts
// is valid, and that every error it returns is an *Error naming the file
// and a plausible line, in one short line of text.
// Seeds are in testdata/fuzz/FuzzParse, among them the default file and
// hostile inputs.
func FuzzParse(f *testing.F) {
	f.Add(DefaultFile())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(bytes.NewReader(data), testName)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.File != testName || !strings.HasPrefix(err.Error(), testName+":") {
				t.Fatalf("error %q is not an *Error naming the file", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") || len(err.Error()) > 1024 {
				t.Fatalf("error %q is not one short line, unfit for a log", err)
			}
			if e.Line < 0 || e.Line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("error %q names line %d of a %d-line input", err, e.Line, bytes.Count(data, []byte("\n"))+1)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
		again, err := Parse(bytes.NewReader(data), testName)
		if err != nil || !reflect.DeepEqual(c, again) {
			t.Fatalf("Parse is not deterministic: %+v, then %+v, %v", c, again, err)
		}
	})
}
