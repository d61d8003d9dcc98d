// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"strings"
	"testing"
)

// TestEncode pins the bytes of replies on the wire, which every client
// reads: members left out only when nil, false or "", map members sorted,
// and nil slices and maps sent as the empty arrays and objects the
// interface definitions declare (never null); and the client's calls,
// with parameters only when given.
func TestEncode(t *testing.T) {
	type result struct {
		Results []string          `json:"results"`
		Counts  map[string]int    `json:"counts"`
		Attrs   map[string]string `json:"attributes,omitempty"`
	}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"no parameters", reply{Parameters: struct{}{}}, `{"parameters":{}}`},
		{"error without parameters", reply{Error: "a.B"}, `{"error":"a.B"}`},
		{"error", reply{Error: "a.B", Parameters: map[string]any{"z": 1, "a": []string{"x"}}}, `{"parameters":{"a":["x"],"z":1},"error":"a.B"}`},
		{"nil slice and map", reply{Parameters: result{}}, `{"parameters":{"results":[],"counts":{}}}`},
		{"empty map omitted", reply{Parameters: result{Attrs: map[string]string{}}}, `{"parameters":{"results":[],"counts":{}}}`},
		{"nil error list", reply{Error: "a.B", Parameters: map[string]any{"valid": []string(nil)}}, `{"parameters":{"valid":[]},"error":"a.B"}`},
		{"invalid UTF-8", reply{Error: "a.B", Parameters: map[string]string{"reason": "cut \xc3"}}, "{\"parameters\":{\"reason\":\"cut \ufffd\"},\"error\":\"a.B\"}"},
		{"HTML characters", reply{Parameters: map[string]string{"x": "<&>"}}, `{"parameters":{"x":"<&>"}}`},
		{"call without parameters", request{Method: "a.B"}, `{"method":"a.B"}`},
		{"call", request{Method: "a.B", Parameters: map[string]int{"uid": 0}}, `{"method":"a.B","parameters":{"uid":0}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encode(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := strings.CutSuffix(string(b), "\x00"); !ok || got != tt.want {
				t.Errorf("encoded %q, want %q and a NUL", b, tt.want)
			}
		})
	}
}
