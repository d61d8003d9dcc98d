// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"context"
	"testing"
)

// checkCall is an on-behalf Check call of the size the socket rows of make
// bench send.
const checkCall = `{"method":"org.example.bench.Check","parameters":{"object":{"type":"domain","driver":"QEMU","attributes":{"domain_name":"bench-vm-0001","domain_uuid":"6695eb01-f6a4-8304-79aa-97f2502e193f"}},"permission":"start","subject":{"pid":123456,"start_time":987654321,"uid":1001,"pidfd_ino":4242}}}`

// checkParams has the shape of accessapi.CheckParams.
type checkParams struct {
	Object struct {
		Type   string            `json:"type"`
		Driver string            `json:"driver"`
		Attrs  map[string]string `json:"attributes"`
	} `json:"object"`
	Permission string `json:"permission"`
	Subject    *struct {
		PID       int64  `json:"pid"`
		StartTime uint64 `json:"start_time"`
		UID       uint32 `json:"uid"`
		Ino       uint64 `json:"pidfd_ino"`
	} `json:"subject"`
}

// benchServer knows Check's parameter type when typed.
func benchServer(tb testing.TB, typed bool) *Server {
	iface := Interface{Name: "org.example.bench", Methods: map[string]MethodFunc{"Check": nil}}
	if typed {
		iface.Params = map[string]func() any{"Check": func() any { return new(checkParams) }}
	}
	s, err := NewServer(Options{}, iface)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkDecodeCheck decodes a call and its parameters as the server
// does for every request: in two steps (the envelope, then the
// parameters), or in one pass when the method's parameter type is known.
func BenchmarkDecodeCheck(b *testing.B) {
	for _, typed := range []bool{false, true} {
		name := map[bool]string{false: "two-steps", true: "one-pass"}[typed]
		b.Run(name, func(b *testing.B) {
			s := benchServer(b, typed)
			msg := []byte(checkCall)
			b.ReportAllocs()
			for b.Loop() {
				c, ok := s.decodeOnce(msg)
				if ok != typed {
					b.Fatalf("decoded in one pass: %v", ok)
				}
				if !ok {
					var err error
					if c, err = DecodeCall(msg); err != nil {
						b.Fatal(err)
					}
				}
				var v checkParams
				if err := c.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCallCheck makes on-behalf Check calls over a unix socket with
// a Client, the server decoding them in one pass and answering a result:
// the varlink part of a cached Check, both ends, without the decision.
func BenchmarkCallCheck(b *testing.B) {
	check := func(_ context.Context, c *Call) (any, error) {
		var p checkParams
		if err := c.Decode(&p); err != nil {
			return nil, err
		}
		return map[string]any{"allowed": true, "cached": true, "driver": "polkit"}, nil
	}
	s, err := NewServer(Options{}, Interface{
		Name:    "org.example.bench",
		Methods: map[string]MethodFunc{"Check": check},
		Params:  map[string]func() any{"Check": func() any { return new(checkParams) }},
	})
	if err != nil {
		b.Fatal(err)
	}
	c, err := Dial(context.Background(), listen(b, s))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var in checkParams
	in.Object.Type, in.Object.Driver, in.Permission = "domain", "QEMU", "start"
	in.Object.Attrs = map[string]string{"domain_name": "bench-vm-0001", "domain_uuid": "6695eb01-f6a4-8304-79aa-97f2502e193f"}
	in.Subject = &struct {
		PID       int64  `json:"pid"`
		StartTime uint64 `json:"start_time"`
		UID       uint32 `json:"uid"`
		Ino       uint64 `json:"pidfd_ino"`
	}{123456, 987654321, 1001, 4242}
	var out struct {
		Allowed bool   `json:"allowed"`
		Cached  bool   `json:"cached"`
		Driver  string `json:"driver"`
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Call(context.Background(), "org.example.bench.Check", in, &out); err != nil || !out.Allowed {
			b.Fatal(err, out)
		}
	}
}
