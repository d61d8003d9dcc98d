// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadMessage(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		wantErr error
	}{
		{"two messages", "{}\x00{\"a\":1}\x00", 100, []string{"{}", `{"a":1}`}, io.EOF},
		{"no NUL", "{}", 100, nil, io.ErrUnexpectedEOF},
		{"empty stream", "", 100, nil, io.EOF},
		{"exactly the limit", strings.Repeat("x", 10) + "\x00", 10, []string{strings.Repeat("x", 10)}, io.EOF},
		{"one over the limit", strings.Repeat("x", 11) + "\x00", 10, nil, ErrTooLarge},
		{"oversized without NUL", strings.Repeat("x", 20000), 10000, nil, ErrTooLarge},
		{"large within the limit", strings.Repeat("y", 9000) + "\x00", 10000, []string{strings.Repeat("y", 9000)}, io.EOF},
		{"large in a row, small, large", strings.Repeat("a", 9000) + "\x00" + strings.Repeat("b", 5000) + "\x00s\x00" +
			strings.Repeat("c", 9500) + "\x00", 10000,
			[]string{strings.Repeat("a", 9000), strings.Repeat("b", 5000), "s", strings.Repeat("c", 9500)}, io.EOF},
		{"large over a longer one", strings.Repeat("a", 200000) + "\x00" + strings.Repeat("b", 70000) + "\x00", 1 << 20,
			[]string{strings.Repeat("a", 200000), strings.Repeat("b", 70000)}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), tt.max)
			var got []string
			var err error
			for {
				var m []byte
				if m, err = r.ReadMessage(); err != nil {
					break
				}
				got = append(got, string(m))
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("messages %q, want %q", got, tt.want)
			}
		})
	}
}

// repeating is a stream of the same message over and over.
type repeating struct {
	msg []byte
	off int
}

func (r *repeating) Read(p []byte) (int, error) {
	n := copy(p, r.msg[r.off:])
	r.off = (r.off + n) % len(r.msg)
	return n, nil
}

// TestLargeMessagesReuseASpare checks that a large message is read into
// the spare buffer onLarge gives (the one Release gave back), allocating
// only for its first bytes once there is one, and that the reader keeps no buffer
// past the next read: an idle connection holds none.
func TestLargeMessagesReuseASpare(t *testing.T) {
	large := append(bytes.Repeat([]byte("x"), 300_000), 0)
	r := NewReader(&repeating{msg: large}, 0)
	var spare []byte
	r.onLarge = func() ([]byte, error) {
		b := spare
		spare = nil
		return b, nil
	}
	read := func() {
		if m, err := r.ReadMessage(); err != nil || len(m) != len(large)-1 {
			t.Fatalf("read %d bytes, %v", len(m), err)
		}
		spare = r.Release()
	}
	read()
	// Two: the buffers of its first LargeMessage bytes, gathered before
	// it counts as large and may take the spare.
	if allocs := testing.AllocsPerRun(20, read); allocs > 2 {
		t.Errorf("%v allocations per large message read into a spare, want at most 2", allocs)
	}
	r = NewReader(io.MultiReader(bytes.NewReader(large), strings.NewReader("{}\x00")), 0)
	if m, err := r.ReadMessage(); err != nil || len(m) != len(large)-1 {
		t.Fatalf("large message: %d bytes, %v", len(m), err)
	}
	if m, err := r.ReadMessage(); err != nil || string(m) != "{}" {
		t.Fatalf("small message %q, %v", m, err)
	}
	if b := r.Release(); b != nil {
		t.Errorf("the reader kept the large message's buffer of %d bytes past the next read", cap(b))
	}
}

func TestDecodeCall(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Call
		wantErr string
	}{
		{"plain", `{"method":"a.b.C","parameters":{"x":1}}`, Call{Method: "a.b.C", Parameters: []byte(`{"x":1}`)}, ""},
		{"no parameters", `{"method":"a.b.C","oneway":true}`, Call{Method: "a.b.C", Oneway: true}, ""},
		{"null parameters", `{"method":"a.b.C","parameters":null}`, Call{Method: "a.b.C", Parameters: []byte("null")}, ""},
		{"empty", ``, Call{}, "not a JSON object"},
		{"array", `[1,2]`, Call{}, "not a JSON object"},
		{"invalid JSON", `{"method":`, Call{}, "malformed call"},
		{"trailing garbage", `{"method":"a.B"} x`, Call{}, "malformed call"},
		{"no method", `{"parameters":{}}`, Call{}, "names no method"},
		{"method not a string", `{"method":7}`, Call{}, "malformed call"},
		{"method without interface", `{"method":"Check"}`, Call{}, "not of the form"},
		{"method ends in a dot", `{"method":"a.b."}`, Call{}, "not of the form"},
		{"odd characters", `{"method":"a.b/../C"}`, Call{}, "contains"},
		{"parameters not an object", `{"method":"a.B","parameters":[1]}`, Call{}, "parameters are not a JSON object"},
		{"parameters a string", `{"method":"a.B","parameters":"x"}`, Call{}, "parameters are not a JSON object"},
		{"oneway not a bool", `{"method":"a.B","oneway":"yes"}`, Call{}, "malformed call"},
		{"method named twice", `{"method":"a.B","method":"c.D"}`, Call{}, "duplicate"},
		{"parameter named twice", `{"method":"a.B","parameters":{"subject":{"uid":1,"uid":0}}}`, Call{}, "duplicate"},
		{"method in another case", `{"METHOD":"a.B"}`, Call{}, "names no method"},
		{"unknown call member", `{"method":"a.B","extra":1}`, Call{Method: "a.B"}, ""},
		{"invalid UTF-8", "{\"method\":\"a.B\xff\"}", Call{}, "UTF-8"},
		{"deeply nested", `{"method":"a.B","parameters":{"x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}}`, Call{}, "malformed call"},
		{"long method", `{"method":"a.` + strings.Repeat("b", 600) + `"}`, Call{}, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeCall([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Method != tt.want.Method || got.Oneway != tt.want.Oneway || !bytes.Equal(got.Parameters, tt.want.Parameters) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCallDecode(t *testing.T) {
	type params struct {
		Object  string `json:"object"`
		PID     *int   `json:"pid"`
		Subject *struct {
			UID *int64 `json:"uid"`
		} `json:"subject"`
	}
	tests := []struct {
		name      string
		params    string
		wantParam string // "" means success
	}{
		{"ok", `{"object":"domain","pid":3}`, ""},
		{"absent", ``, ""},
		{"wrong type", `{"object":3}`, "object"},
		{"unknown field", `{"object":"domain","bogus":1}`, "bogus"},
		{"pid not a number", `{"pid":"1"}`, "pid"},
		{"nested", `{"subject":{"uid":0}}`, ""},
		{"nested wrong type", `{"subject":{"uid":"0"}}`, "subject.uid"},
		{"nested unknown", `{"subject":{"gid":0}}`, "subject.gid"},
		{"named twice", `{"subject":{"uid":1000,"uid":0}}`, "subject.uid"},
		{"another case", `{"subject":{"UID":0}}`, "subject.UID"},
		{"invalid UTF-8", "{\"object\":\"\xff\"}", "object"},
		{"trailing data", `{"object":"domain"} x`, "parameters"},
		{"two values", `{"object":"domain"}{}`, "parameters"},
		{"not an object", `[]`, "parameters"},
		{"long name", `{"` + strings.Repeat("x", 100) + `":1}`, strings.Repeat("x", 64) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Call{Method: "a.B", Parameters: []byte(tt.params)}
			var p params
			err := c.Decode(&p)
			if tt.wantParam == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := AsError(err)
			if !ok || e.Name != ErrInvalidParameter || !isFatal(err) {
				t.Fatalf("err = %v, want a fatal InvalidParameter", err)
			}
			if got := e.Parameters.(map[string]string)["parameter"]; got != tt.wantParam {
				t.Errorf("parameter %q, want %q", got, tt.wantParam)
			}
		})
	}
}

// TestDecodedOutlivesMessage checks that what is decoded from a message
// stays as it was once the reader, which returns messages in place in its
// buffer, has read the next ones over it.
func TestDecodedOutlivesMessage(t *testing.T) {
	first := `{"method":"a.B","parameters":{"object":"first"}}`
	in := first + "\x00" + strings.Repeat(`{"method":"c.D","parameters":{"object":"other"}}`+"\x00", 200)
	r := NewReader(strings.NewReader(in), 0)
	msg, err := r.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeCall(msg)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Object string `json:"object"`
	}
	if err := c.Decode(&p); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if _, err := r.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	if c.Method != "a.B" || string(c.Parameters) != `{"object":"first"}` || p.Object != "first" {
		t.Errorf("after later reads: %q %q %q", c.Method, c.Parameters, p.Object)
	}
}
