// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bytes"
	v1json "encoding/json"
	"reflect"
	"testing"
)

// FuzzDecode feeds arbitrary bytes through the reader and the call decoder,
// as a hostile client would. Nothing may panic, a message never exceeds the
// limit, and a decoded call always names interface and member. A call
// decoded in one pass, by the library or by the parameter types' own
// compact readers, is read as the two steps read it.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"method":"io.github.virt-acl-helper.access.Check","parameters":{"object":"domain","permission":"start","driver":"QEMU","attributes":{"domain_name":"vm","domain_uuid":"6695eb01-f6a4-8304-79aa-97f2502e193f"}}}` + "\x00",
		`{"method":"org.varlink.service.GetInfo"}` + "\x00",
		`{"method":"a.B","oneway":true,"more":true,"upgrade":true}` + "\x00{}\x00",
		"\x00\x00",
		`{"method":"org.example.bench.Check","parameters":{"subject":{"uid":1,"uid":0}}}` + "\x00",
		`{"method":"org.example.bench.Check","parameters":{"subject":{"UID":0}},"oneway":true}` + "\x00",
		`{"method":`,
		`[[[[[[[[[[`,
	} {
		f.Add([]byte(seed))
	}
	f.Add([]byte(checkCall + "\x00"))
	f.Add([]byte(accessCheck + "\x00"))
	f.Add([]byte(`{"method":"org.example.bench.CheckMany","parameters":{"permission":"start","objects":[{"type":"domain","driver":"QEMU","attributes":{"domain_name":"a"}}],"subject":{"pid":1}}}` + "\x00"))
	s := benchServer(f, newCheckParams)
	access := accessServer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 512
		r := NewReader(bytes.NewReader(data), max)
		for {
			msg, err := r.ReadMessage()
			if err != nil {
				return
			}
			if len(msg) > max {
				t.Fatalf("message of %d bytes passed a limit of %d", len(msg), max)
			}
			agreeOnce(t, s, msg) // one pass, when it accepts, as two steps
			agreeAccess(t, access, msg)
			c, err := DecodeCall(msg)
			if err != nil {
				continue
			}
			if c.Interface() == "" || c.Member() == "" {
				t.Fatalf("call %q decoded without interface or member", c.Method)
			}
			var v struct {
				Object string            `json:"object"`
				Attrs  map[string]string `json:"attributes"`
				PID    *int64            `json:"pid"`
			}
			c.Decode(&v)
		}
	})
}

// FuzzStricterThanV1 checks that the parameters Call.Decode accepts are
// ones encoding/json, the decoder it replaced, accepted too (with
// DisallowUnknownFields) and read the same: the move made parsing
// stricter, never looser or different.
func FuzzStricterThanV1(f *testing.F) {
	for _, seed := range []string{
		`{"object":{"type":"domain","driver":"QEMU","attributes":{"domain_name":"a"}},"permission":"start","subject":{"pid":1,"uid":0,"start_time":2,"pidfd_ino":3}}`,
		`{"subject":{"uid":1,"uid":0}}`,
		`{"subject":{"UID":0}}`,
		`{"permission":"\u00e9\ud800"}`,
		`{"subject":{"pid":-0,"uid":1e2,"start_time":1.0}}`,
		`{"object":null,"subject":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		c := Call{Method: "a.B", Parameters: params}
		var got checkParams
		if c.Decode(&got) != nil {
			return
		}
		if len(params) == 0 {
			params = []byte("{}") // as Decode takes no parameters
		}
		var want checkParams
		dec := v1json.NewDecoder(bytes.NewReader(params))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("%q: accepted, but encoding/json refused it: %v", params, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: read as %+v, encoding/json read %+v", params, got, want)
		}
	})
}
