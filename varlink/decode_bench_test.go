// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"context"
	"fmt"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
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

// benchServer knows Check's parameter type when newParams is not nil.
func benchServer(tb testing.TB, newParams func() any) *Server {
	iface := Interface{Name: "org.example.bench", Methods: map[string]MethodFunc{"Check": nil}}
	if newParams != nil {
		iface.Params = map[string]func() any{"Check": newParams}
	}
	s, err := NewServer(Options{}, iface)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newCheckParams() any { return new(checkParams) }

// accessCheck is checkCall in the access interface's wire form, whose
// parameters the daemon decodes into an accessapi.CheckParams.
const accessCheck = `{"method":"org.example.bench.Check","parameters":{"object":{"type":"domain","driver":"QEMU","attributes":{"domain_name":"bench-vm-0001","domain_uuid":"6695eb01-f6a4-8304-79aa-97f2502e193f"}},"permission":"start","subject":{"pid":123456,"uid":1001,"startTime":987654321}}}`

// accessServer is benchServer with the daemon's parameter types.
func accessServer(tb testing.TB) *Server {
	s, err := NewServer(Options{}, Interface{
		Name:    "org.example.bench",
		Methods: map[string]MethodFunc{"Check": nil, "CheckMany": nil},
		Params: map[string]func() any{
			"Check":     func() any { return new(accessapi.CheckParams) },
			"CheckMany": func() any { return new(accessapi.CheckManyParams) },
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkDecodeCheck decodes a call and its parameters as the server
// does for every request: in two steps (the envelope, then the
// parameters), or in one pass when the method's parameter type is known,
// as the daemon's Check is.
func BenchmarkDecodeCheck(b *testing.B) {
	for _, typed := range []bool{false, true} {
		name := map[bool]string{false: "two-steps", true: "one-pass"}[typed]
		b.Run(name, func(b *testing.B) {
			s := benchServer(b, nil)
			if typed {
				s = accessServer(b)
			}
			msg := []byte(accessCheck)
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
				var v accessapi.CheckParams
				if err := c.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// manyObjects are n objects of the kind make bench asks about.
func manyObjects(n int) []accessapi.Object {
	objs := make([]accessapi.Object, n)
	for i := range objs {
		objs[i] = accessapi.Object{Type: "domain", Driver: "QEMU", Attributes: map[string]string{
			"domain_name": fmt.Sprintf("bench-vm-%05d", i),
			"domain_uuid": fmt.Sprintf("6695eb01-f6a4-8304-79aa-%012d", i),
		}}
	}
	return objs
}

// BenchmarkDecodeCheckMany decodes, in one pass, a CheckMany call of
// 10,000 objects on behalf of a subject.
func BenchmarkDecodeCheckMany(b *testing.B) {
	s := accessServer(b)
	msg, err := marshal(request{Method: "org.example.bench.CheckMany", Parameters: accessapi.CheckManyParams{
		Permission: "getattr", Objects: manyObjects(10000),
		Subject: &accessapi.Subject{PID: 123456, UID: new(int64(1001)), StartTime: new(uint64(987654321))},
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		c, ok := s.decodeOnce(msg)
		if !ok {
			b.Fatal("not decoded in one pass")
		}
		var v accessapi.CheckManyParams
		if err := c.Decode(&v); err != nil || len(v.Objects) != 10000 {
			b.Fatal(err, len(v.Objects))
		}
	}
}

// benchCheck is the Check the benchmarks' client sends.
func benchCheck() accessapi.CheckParams {
	return accessapi.CheckParams{
		Object: accessapi.Object{Type: "domain", Driver: "QEMU", Attributes: map[string]string{
			"domain_name": "bench-vm-0001", "domain_uuid": "6695eb01-f6a4-8304-79aa-97f2502e193f"}},
		Permission: "start",
		Subject:    &accessapi.Subject{PID: 123456, UID: new(int64(1001)), StartTime: new(uint64(987654321))},
	}
}

// BenchmarkEncodeCheck encodes a Check call as Client.Call does: by the
// parameters' own compact writer, and by the library, which it replaced.
func BenchmarkEncodeCheck(b *testing.B) {
	in := benchCheck()
	b.Run("compact", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			var ok bool
			if buf, ok = appendCall(buf[:0], "org.example.bench.Check", in); !ok {
				b.Fatal("not written")
			}
		}
	})
	b.Run("library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encode(request{Method: "org.example.bench.Check", Parameters: in}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEncodeCheckManyReply encodes the reply to a CheckMany of
// 10,000 objects as the server does, and as the library did.
func BenchmarkEncodeCheckManyReply(b *testing.B) {
	out := accessapi.CheckManyReply{Results: make([]accessapi.Result, 10000)}
	for i := range out.Results {
		out.Results[i] = accessapi.Result{Allowed: i%3 != 0, Cached: i%2 == 0, Driver: "polkit"}
	}
	b.Run("compact", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := appendReply(nil, out); !ok {
				b.Fatal("not written")
			}
		}
	})
	b.Run("library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encode(reply{Parameters: out}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCallCheck makes on-behalf Check calls over a unix socket with
// a Client, the server decoding them in one pass and answering a result:
// the varlink part of a cached Check, both ends, without the decision.
func BenchmarkCallCheck(b *testing.B) {
	check := func(_ context.Context, c *Call) (any, error) {
		var p accessapi.CheckParams
		if err := c.Decode(&p); err != nil {
			return nil, err
		}
		return accessapi.Result{Allowed: true, Cached: true, Driver: "polkit"}, nil
	}
	s, err := NewServer(Options{}, Interface{
		Name:    "org.example.bench",
		Methods: map[string]MethodFunc{"Check": check},
		Params:  map[string]func() any{"Check": func() any { return new(accessapi.CheckParams) }},
	})
	if err != nil {
		b.Fatal(err)
	}
	c, err := Dial(context.Background(), listen(b, s))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	in := benchCheck()
	var out accessapi.Result
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Call(context.Background(), "org.example.bench.Check", in, &out); err != nil || !out.Allowed {
			b.Fatal(err, out)
		}
	}
}

// BenchmarkDecodeReply decodes a Check reply as the client does: in the
// compact form into the type that reads it (the decision calls'), and
// with the JSON library into a type that does not.
func BenchmarkDecodeReply(b *testing.B) {
	reply := []byte(`{"parameters":{"allowed":true,"cached":true,"driver":"polkit"}}`)
	b.Run("compact", func(b *testing.B) {
		var out accessapi.Result
		b.ReportAllocs()
		for b.Loop() {
			if err := decodeReply("a.B", reply, &out); err != nil || !out.Allowed {
				b.Fatal(err, out)
			}
		}
	})
	b.Run("library", func(b *testing.B) {
		var out struct {
			Allowed bool   `json:"allowed"`
			Cached  bool   `json:"cached"`
			Driver  string `json:"driver"`
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := decodeReply("a.B", reply, &out); err != nil || !out.Allowed {
				b.Fatal(err, out)
			}
		}
	})
}
