// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"strings"
	"testing"
)

func TestDecodeReply(t *testing.T) {
	type out struct {
		Allowed bool `json:"allowed"`
	}
	tests := []struct {
		name      string
		reply     string
		want      out
		wantError string // an *Error of this name
		wantFail  string // another error mentioning this
	}{
		{"parameters", `{"parameters":{"allowed":true}}`, out{true}, "", ""},
		{"no parameters", `{}`, out{}, "", ""},
		{"null parameters", `{"parameters":null}`, out{}, "", ""},
		{"member out lacks", `{"parameters":{"allowed":true,"new":1}}`, out{true}, "", ""},
		{"error first", `{"error":"a.Failed","parameters":{"reason":"x"}}`, out{}, "a.Failed", ""},
		{"error last", `{"parameters":{"reason":"x"},"error":"a.Failed"}`, out{}, "a.Failed", ""},
		{"error with parameters out could take", `{"parameters":{"allowed":true},"error":"a.Failed"}`, out{}, "a.Failed", ""},
		{"wrong type", `{"parameters":{"allowed":"yes"}}`, out{}, "", "reply to a.B"},
		{"named twice", `{"parameters":{"allowed":false,"allowed":true}}`, out{}, "", "malformed reply"},
		{"another case", `{"parameters":{"Allowed":true}}`, out{}, "", ""},
		{"trailing data", `{"parameters":{"allowed":true}} {}`, out{}, "", "malformed reply"},
		{"not JSON", `nope`, out{}, "", "malformed reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got out
			err := decodeReply("a.B", []byte(tt.reply), &got)
			switch e, isErr := AsError(err); {
			case tt.wantError != "":
				if !isErr || e.Name != tt.wantError {
					t.Fatalf("err = %v, want a %s reply", err, tt.wantError)
				}
				var p struct {
					Reason string `json:"reason"`
				}
				if err := e.ErrorParameters(&p); err != nil {
					t.Errorf("error parameters: %v", err)
				}
			case tt.wantFail != "":
				if err == nil || isErr || !strings.Contains(err.Error(), tt.wantFail) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantFail)
				}
			case err != nil:
				t.Fatal(err)
			case got != tt.want:
				t.Errorf("decoded %+v, want %+v", got, tt.want)
			}
		})
	}
}
