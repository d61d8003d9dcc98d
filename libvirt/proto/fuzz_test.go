// SPDX-License-Identifier: Apache-2.0

package proto

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"runtime"
	"testing"
)

// fuzzInput is a procedure selector followed by a body: program index
// (byte), procedure number (4 bytes), body.
func fuzzInput(prog byte, num int32, body []byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{prog}, uint32(num)), body...)
}

func fuzzSeeds(f *testing.F, newBody func(*Procedure) Message) {
	tab := mustTable(f)
	for i, prog := range Programs() {
		for _, p := range tab.Procedures(prog) {
			if b, err := Marshal(newBody(p)); err == nil {
				f.Add(fuzzInput(byte(i), p.Number(), b))
			}
		}
	}
}

// fuzzDecode checks one input against decode: it must not panic, must
// allocate in proportion to the input, and what it decodes must encode
// and decode again to the same value and bytes.
func fuzzDecode(t *testing.T, tab *Table, in []byte, decode func(*Procedure, []byte) (Message, error)) {
	if len(in) < 5 {
		return
	}
	progs := Programs()
	p, ok := tab.Lookup(progs[int(in[0])%len(progs)], int32(binary.BigEndian.Uint32(in[1:5])))
	if !ok {
		return
	}
	body := in[5:]
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := decode(p, body)
	runtime.ReadMemStats(&after)
	if limit := uint64(64*len(body) + 256<<10); after.TotalAlloc-before.TotalAlloc > limit {
		t.Fatalf("%s: %d bytes allocated for a %d-byte body", p, after.TotalAlloc-before.TotalAlloc, len(body))
	}
	if err != nil {
		return
	}
	enc, err := Marshal(m)
	if err != nil {
		t.Fatalf("%s: decoded message does not encode: %v", p, err)
	}
	m2, err := decode(p, enc)
	if err != nil {
		t.Fatalf("%s: re-encoded body does not decode: %v", p, err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("%s: decode(encode(m)) = %+v, m = %+v", p, m2, m)
	}
	if enc2, _ := Marshal(m2); !bytes.Equal(enc, enc2) {
		t.Fatalf("%s: encoding unstable", p)
	}
	if len(enc) > len(body) {
		t.Fatalf("%s: re-encoding grew from %d to %d bytes", p, len(body), len(enc))
	}
}

// FuzzDecodeCall fuzzes the call-body decoders of every procedure.
func FuzzDecodeCall(f *testing.F) {
	fuzzSeeds(f, (*Procedure).NewArgs)
	tab := mustTable(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzDecode(t, tab, in, (*Procedure).DecodeArgs)
	})
}

// FuzzDecodeReply fuzzes the reply and event decoders of every procedure.
func FuzzDecodeReply(f *testing.F) {
	fuzzSeeds(f, (*Procedure).NewRet)
	tab := mustTable(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzDecode(t, tab, in, func(p *Procedure, body []byte) (Message, error) {
			if m, err := p.DecodeMsg(body); err == nil {
				return m, nil
			}
			return p.DecodeRet(body)
		})
	})
}
