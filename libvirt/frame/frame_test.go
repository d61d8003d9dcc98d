// SPDX-License-Identifier: Apache-2.0

package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

func rawFrame(words ...uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(4+4*len(words)))
	for _, w := range words {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b
}

func TestReadCall(t *testing.T) {
	// DOMAIN_GET_STATE call header with an 8-byte body.
	in := rawFrame(0x20008086, 1, 212, 0, 7, 0, 0xaa, 0xbb)
	m, err := Read(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Prog: 0x20008086, Vers: 1, Proc: 212, Type: Call, Serial: 7, Status: OK}
	if m.Header != want || len(m.Body) != 8 || m.NumFDs != 0 {
		t.Errorf("got %+v", m)
	}
	out, err := m.Marshal()
	if err != nil || !bytes.Equal(out, in) {
		t.Errorf("Marshal: % x, %v", out, err)
	}
}

func TestFDCount(t *testing.T) {
	in := rawFrame(0x20008086, 1, 249, uint32(CallWithFDs), 3, 0, 2, 0xcc)
	m, err := Read(bytes.NewReader(in))
	if err != nil || m.NumFDs != 2 || len(m.Body) != 4 {
		t.Fatalf("got %+v, %v", m, err)
	}
	if out, _ := m.Marshal(); !bytes.Equal(out, in) {
		t.Errorf("Marshal: % x", out)
	}
	_, err = Read(bytes.NewReader(rawFrame(0x20008086, 1, 249, uint32(CallWithFDs), 3, 0, 33)))
	if !errors.Is(err, ErrFrame) {
		t.Errorf("33 fds: %v", err)
	}
	_, err = Read(bytes.NewReader(rawFrame(0x20008086, 1, 249, uint32(CallWithFDs), 3, 0)))
	if !errors.Is(err, ErrFrame) {
		t.Errorf("missing fd count: %v", err)
	}
	if _, err := (&Message{Header: Header{Type: Call}, NumFDs: 1}).Marshal(); err == nil {
		t.Error("fd count on a plain call marshalled")
	}
}

func TestLengthLimits(t *testing.T) {
	for _, tt := range []struct {
		name string
		len  uint32
		ok   bool
	}{
		{"below header", 27, false},
		{"zero", 0, false},
		{"header only", 28, true},
		{"max", MaxMessage + 4, true},
		{"over max", MaxMessage + 5, false},
		{"huge", 0xffffffff, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkLength(tt.len)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrFrame)) {
				t.Errorf("checkLength(%d): %v", tt.len, err)
			}
		})
	}
	big := &Message{Body: make([]byte, MaxMessage-HeaderSize+1)}
	if _, err := big.Marshal(); !errors.Is(err, ErrFrame) {
		t.Errorf("oversize Marshal: %v", err)
	}
}

func TestReadTruncated(t *testing.T) {
	if _, err := Read(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("empty: %v", err)
	}
	if _, err := Read(bytes.NewReader([]byte{0, 0})); !errors.Is(err, ErrFrame) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("half length word: %v", err)
	}
	in := rawFrame(1, 1, 1, 0, 1, 0, 0)
	if _, err := Read(bytes.NewReader(in[:len(in)-2])); !errors.Is(err, ErrFrame) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut body: %v", err)
	}
}

func TestReadAllocatesWhatArrives(t *testing.T) {
	// A length word promising 32 MiB followed by 100 bytes.
	in := binary.BigEndian.AppendUint32(nil, MaxMessage+4)
	in = append(in, make([]byte, 100)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Read(bytes.NewReader(in))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("allocated %d bytes for 104 bytes of input", n)
	}
}

func TestAccessDenied(t *testing.T) {
	call := Header{Prog: 0x20008086, Vers: 1, Proc: 9, Type: Call, Serial: 42}
	reply, err := ErrorReply(call, AccessDenied("'QEMU' denied access"))
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Prog: 0x20008086, Vers: 1, Proc: 9, Type: Reply, Serial: 42, Status: Error}
	if reply.Header != want {
		t.Errorf("header %+v", reply.Header)
	}
	b, err := ParseError(reply.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b.Code != 88 || b.Domain != 55 || b.Level != 2 || b.Error() != "access denied: 'QEMU' denied access" {
		t.Errorf("body %+v", b)
	}
	// The generated remote_error decodes the same bytes to the same values.
	var re proto.RemoteError
	if err := proto.Unmarshal(reply.Body, &re); err != nil {
		t.Fatal(err)
	}
	if re.Code != b.Code || re.Domain != b.Domain || re.Level != b.Level || *re.Message != *b.Message ||
		*re.Str1 != *b.Str1 || *re.Str2 != *b.Str2 || re.Str3 != nil || re.Int1 != -1 || re.Dom != nil || re.Net != nil {
		t.Errorf("remote_error %+v", re)
	}
}

func TestErrorBodyRoundTrip(t *testing.T) {
	s := "x"
	b := &ErrorBody{Code: 1, Domain: 2, Message: &s, Level: 3, Dom: &ErrorDomain{Name: "vm", ID: 4},
		Str3: &s, Int1: 5, Int2: 6, Net: &ErrorNetwork{Name: "default"}}
	enc, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseError(enc)
	if err != nil || !reflect.DeepEqual(got, b) {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := ParseError(append(enc, 0, 0, 0, 0)); err == nil {
		t.Error("leftover bytes accepted")
	}
	bad := "a\x00b"
	if _, err := (&ErrorBody{Message: &bad}).Marshal(); err == nil {
		t.Error("NUL in message encoded")
	}
}

func TestTypeNames(t *testing.T) {
	if CallWithFDs.String() != "CALL_WITH_FDS" || Type(9).Valid() || Status(3).Valid() || Continue.String() != "CONTINUE" {
		t.Error("names")
	}
	if (Header{Type: 7}).Check() == nil || (Header{Status: 3}).Check() == nil || (Header{}).Check() != nil {
		t.Error("Check")
	}
}

// FuzzRead reads frames from arbitrary input: it must not panic, must
// allocate in proportion to the input, and every frame read must encode
// back to the bytes it came from.
func FuzzRead(f *testing.F) {
	f.Add(rawFrame(0x20008086, 1, 212, 0, 7, 0, 0xaa, 0xbb))
	f.Add(rawFrame(0x20008086, 1, 249, uint32(CallWithFDs), 3, 0, 2, 0xcc))
	f.Add(append(rawFrame(0x6b656570, 1, 1, 2, 1, 0), rawFrame(0x20008087, 1, 1, 1, 9, 1, 0)...))
	f.Add(binary.BigEndian.AppendUint32(nil, MaxMessage+4))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var msgs []*Message
		for {
			m, err := Read(r)
			if err != nil {
				break
			}
			msgs = append(msgs, m)
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > uint64(4*len(in)+256<<10) {
			t.Fatalf("%d bytes allocated for %d bytes of input", n, len(in))
		}
		consumed := len(in) - r.Len()
		var out []byte
		for _, m := range msgs {
			b, err := m.Marshal()
			if err != nil {
				t.Fatalf("read message does not marshal: %v", err)
			}
			if p, err := Parse(b); err != nil || !reflect.DeepEqual(p, m) {
				t.Fatalf("Parse(Marshal(m)) = %+v, %v; m = %+v", p, err, m)
			}
			out = append(out, b...)
		}
		if !bytes.Equal(out, in[:len(out)]) || len(out) > consumed {
			t.Fatalf("re-encoded frames differ from input")
		}
	})
}
