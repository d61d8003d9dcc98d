// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
)

// twoSteps decodes msg as the server did before decodeOnce.
func twoSteps[T any](msg []byte) (Call, T, error, error) {
	var p T
	c, err := DecodeCall(msg)
	if err != nil {
		return c, p, err, nil
	}
	return c, p, nil, c.Decode(&p)
}

// agreeOnce checks that decodeOnce, when it accepts msg, gives what the
// two steps give, and that those accept msg too.
func agreeOnce(t *testing.T, s *Server, msg []byte) bool {
	return agreeOnceAs[checkParams](t, s, msg)
}

// agreeOnceAs is agreeOnce for parameters of type T.
func agreeOnceAs[T any](t *testing.T, s *Server, msg []byte) bool {
	t.Helper()
	once, ok := s.decodeOnce(msg)
	if !ok {
		return false
	}
	var got T
	if err := once.Decode(&got); err != nil {
		t.Fatalf("%q: decoded in one pass, then Decode: %v", msg, err)
	}
	c, want, cerr, perr := twoSteps[T](msg)
	if cerr != nil || perr != nil {
		t.Fatalf("%q: accepted in one pass, refused in two steps (%v, %v)", msg, cerr, perr)
	}
	if once.Method != c.Method || once.Oneway != c.Oneway || once.More != c.More || once.Upgrade != c.Upgrade {
		t.Fatalf("%q: one pass %+v, two steps %+v", msg, once, c)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: one pass %+v, two steps %+v", msg, got, want)
	}
	return true
}

// agreeAccess is agreeOnce for accessServer's methods, whose parameter
// types read their compact JSON themselves.
func agreeAccess(t *testing.T, s *Server, msg []byte) bool {
	t.Helper()
	if name, _ := leadingMethod(msg); bytes.Contains(name, []byte("CheckMany")) {
		return agreeOnceAs[accessapi.CheckManyParams](t, s, msg)
	}
	return agreeOnceAs[accessapi.CheckParams](t, s, msg)
}

func TestDecodeOnce(t *testing.T) {
	s := benchServer(t, newCheckParams)
	const params = `{"object":{"type":"domain","attributes":{"domain_name":"a"}},"permission":"start"}`
	for _, tc := range []struct {
		name string
		msg  string
		once bool // decoded in one pass; otherwise left to the two steps
	}{
		{"check", checkCall, true},
		{"no parameters", `{"method":"org.example.bench.Check"}`, true},
		{"null parameters", `{"method":"org.example.bench.Check","parameters":null}`, true},
		{"oneway and trailing space", `{"method":"org.example.bench.Check","parameters":` + params + `,"oneway":true} ` + "\n", true},
		{"upgrade (refused later)", `{"method":"org.example.bench.Check","upgrade":true}`, true},
		{"method not first", `{"parameters":` + params + `,"method":"org.example.bench.Check"}`, false},
		{"unknown method", `{"method":"org.example.bench.Other","parameters":{}}`, false},
		{"unknown interface", `{"method":"org.example.other.Check","parameters":{}}`, false},
		{"escaped method", `{"method":"org.example.bench.Chec\u006b"}`, false},
		{"method named twice", `{"method":"org.example.bench.Check","method":"org.example.bench.Other"}`, false},
		{"method named twice, case folded", `{"method":"org.example.bench.Check","METHOD":"a.B"}`, false},
		{"uid named twice", `{"method":"org.example.bench.Check","parameters":{"subject":{"uid":1,"uid":0}}}`, false},
		{"uid in another case", `{"method":"org.example.bench.Check","parameters":{"subject":{"UID":0}}}`, false},
		{"unknown call field", `{"method":"org.example.bench.Check","extra":1}`, false},
		{"unknown parameter", `{"method":"org.example.bench.Check","parameters":{"bogus":1}}`, false},
		{"parameters an array", `{"method":"org.example.bench.Check","parameters":[]}`, false},
		{"parameter of the wrong type", `{"method":"org.example.bench.Check","parameters":{"permission":7}}`, false},
		{"trailing garbage", `{"method":"org.example.bench.Check"} x`, false},
		{"two values", `{"method":"org.example.bench.Check"}{}`, false},
		{"invalid UTF-8", "{\"method\":\"org.example.bench.Check\",\"parameters\":{\"permission\":\"\xff\"}}", false},
		{"truncated", `{"method":"org.example.bench.Check","parameters":{`, false},
		{"bad method name", `{"method":"Check"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := agreeOnce(t, s, []byte(tc.msg)); got != tc.once {
				t.Errorf("decoded in one pass: %v, want %v", got, tc.once)
			}
		})
	}
}

// TestDecodeOnceOtherType checks that a handler decoding into another type
// than Interface.Params gets the parameters decoded again, strictly.
func TestDecodeOnceOtherType(t *testing.T) {
	s := benchServer(t, newCheckParams)
	c, ok := s.decodeOnce([]byte(`{"method":"org.example.bench.Check","parameters":{"permission":"start"}}`))
	if !ok {
		t.Fatal("not decoded in one pass")
	}
	var other struct {
		Permission string `json:"permission"`
	}
	if err := c.Decode(&other); err != nil || other.Permission != "start" {
		t.Fatalf("Decode into another type = %v, %+v", err, other)
	}
	var narrow struct{}
	if err := c.Decode(&narrow); err == nil {
		t.Fatal("Decode into a type without the parameter accepted it")
	}
}

// TestLeadingMethod: the method named first, and what follows it, which
// decodeCompact reads without matching the method again.
func TestLeadingMethod(t *testing.T) {
	for _, tc := range []struct{ msg, name, after string }{
		{`{"method":"a.B","parameters":{}}`, "a.B", `","parameters":{}}`},
		{`{"method":"a.B"}`, "a.B", `"}`},
		{`{"method":"a.\u0042"}`, "", ""},
		{`{"method":""}`, "", ""},
		{`{"method":"a.B`, "", ""},
		{`{"parameters":{},"method":"a.B"}`, "", ""},
		{`{ "method":"a.B"}`, "", ""},
	} {
		name, after := leadingMethod([]byte(tc.msg))
		if string(name) != tc.name || string(after) != tc.after {
			t.Errorf("leadingMethod(%s) = %q, %q; want %q, %q", tc.msg, name, after, tc.name, tc.after)
		}
	}
}
