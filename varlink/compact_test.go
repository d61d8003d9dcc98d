// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bytes"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
)

// TestCompactEnvelopes checks that a call and a reply whose parameters
// write themselves are the bytes the library writes, and that the
// envelope declines what it cannot write that way.
func TestCompactEnvelopes(t *testing.T) {
	const method = "org.example.bench.Check"
	check := accessapi.CheckParams{Object: accessapi.Object{Type: "domain", Driver: "QEMU",
		Attributes: map[string]string{"domain_name": "vm", "domain_uuid": "6695eb01-f6a4-8304-79aa-97f2502e193f"}},
		Permission: "start", Subject: &accessapi.Subject{PID: 1}}
	for _, tc := range []struct {
		name   string
		method string
		v      any
		ok     bool
	}{
		{"check", method, check, true},
		{"pointer", method, &check, true},
		{"nil pointer", method, (*accessapi.CheckParams)(nil), false},
		{"no compact form", method, map[string]string{"a": "b"}, false},
		{"invalid UTF-8", method, accessapi.CheckParams{Permission: "\xff"}, false},
		{"method to escape", `a.B"`, check, false},
		{"result", method, accessapi.Result{Allowed: true, Driver: "none"}, true},
		{"many", method, accessapi.CheckManyReply{Results: []accessapi.Result{{}, {Cached: true}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call, ok := appendCall([]byte("x"), tc.method, tc.v)
			if ok != tc.ok {
				t.Fatalf("appendCall ok = %v, want %v", ok, tc.ok)
			}
			if want, err := encode(request{Method: tc.method, Parameters: tc.v}); ok && (err != nil || !bytes.Equal(call, append([]byte("x"), want...))) {
				t.Fatalf("appendCall wrote\n%s\nencode writes\n%s (%v)", call, want, err)
			}
			rep, ok := appendReply(nil, tc.v)
			if ok != (tc.ok || tc.name == "method to escape") {
				t.Fatalf("appendReply ok = %v", ok)
			}
			if want, err := encode(reply{Parameters: tc.v}); ok && (err != nil || !bytes.Equal(rep, want)) {
				t.Fatalf("appendReply wrote\n%s\nencode writes\n%s (%v)", rep, want, err)
			}
		})
	}
}

// TestDecodeCompact checks which calls the parameter types' own readers
// take: just a method and parameters; anything else is the library's.
func TestDecodeCompact(t *testing.T) {
	const params = `{"object":{"type":"domain","driver":"QEMU"},"permission":"start"}`
	s := accessServer(t)
	for _, tc := range []struct {
		name    string
		msg     string
		compact bool
		once    bool
	}{
		{"compact", `{"method":"org.example.bench.Check","parameters":` + params + `}`, true, true},
		{"oneway", `{"method":"org.example.bench.Check","parameters":` + params + `,"oneway":true}`, false, true},
		{"space", `{"method":"org.example.bench.Check", "parameters":` + params + `}`, false, true},
		{"null", `{"method":"org.example.bench.Check","parameters":null}`, false, true},
		{"unknown member", `{"method":"org.example.bench.Check","parameters":{"object":{"type":"domain"},"x":1}}`, false, false},
		{"other method", `{"method":"org.example.bench.CheckMany","parameters":` + params + `}`, false, false},
		{"trailing", `{"method":"org.example.bench.Check","parameters":` + params + `}}`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p accessapi.CheckParams
			name, afterName := leadingMethod([]byte(tc.msg)) // as decodeOnce does
			if got := string(name) == "org.example.bench.Check" && decodeCompact(afterName, &p); got != tc.compact {
				t.Fatalf("decodeCompact = %v, want %v", got, tc.compact)
			}
			if got := agreeAccess(t, s, []byte(tc.msg)); got != tc.once {
				t.Fatalf("decoded in one pass: %v, want %v", got, tc.once)
			}
		})
	}
}

// TestDecodeCompactReply checks the client reading replies: its own
// reader for the compact form, the library for the rest, the same result.
func TestDecodeCompactReply(t *testing.T) {
	want := accessapi.Result{Allowed: true, Cached: true, Driver: "polkit"}
	for _, msg := range []string{
		`{"parameters":{"allowed":true,"cached":true,"driver":"polkit"}}`,
		`{"parameters":{"driver":"polkit","cached":true,"allowed":true}}`,
		`{"parameters":{"allowed":true,"cached":true,"driver":"polkit","added":1}}`,
		`{ "parameters" : {"allowed":true,"cached":true,"driver":"pol\u006bit"} }`,
	} {
		var got accessapi.Result
		if err := decodeReply("m", []byte(msg), &got); err != nil || got != want {
			t.Errorf("%s: read %+v, %v; want %+v", msg, got, err, want)
		}
	}
	var got accessapi.Result
	err := decodeReply("m", []byte(`{"error":"org.example.Denied","parameters":{"allowed":true,"cached":true,"driver":"polkit"}}`), &got)
	if e, ok := AsError(err); !ok || e.Name != "org.example.Denied" {
		t.Fatalf("an error reply read as %v", err)
	}
}
