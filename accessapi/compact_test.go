// SPDX-License-Identifier: Apache-2.0

package accessapi

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// compact is what the fast paths of each type offer.
type compact interface {
	AppendCompactJSON([]byte) ([]byte, bool)
}

// libMarshal marshals v with the options every varlink message is sent with.
func libMarshal(v any) ([]byte, error) {
	return json.Marshal(v, json.Deterministic(true), jsontext.AllowInvalidUTF8(true))
}

// libStrict decodes b into v as the daemon decodes parameters.
func libStrict(b []byte, v any) error {
	return json.Unmarshal(b, v, json.RejectUnknownMembers(true))
}

func ptr[T any](v T) *T { return &v }

func TestCompactEncodingMatchesLibrary(t *testing.T) {
	vm := Object{Type: "domain", Driver: "QEMU", Attributes: map[string]string{
		"domain_uuid": "6695eb01-f6a4-8304-79aa-97f2502e193f", "domain_name": "vm1"}}
	for _, tc := range []struct {
		name   string
		v      compact
		plain  bool // strings need no escaping: the fast decoder reads it back
		noUTF8 bool // invalid UTF-8: the appender declines
	}{
		{"check", CheckParams{Object: vm, Permission: "start"}, true, false},
		{"check on behalf", CheckParams{Object: vm, Permission: "start", Subject: &Subject{PID: 42, UID: ptr[int64](1001), StartTime: ptr[uint64](1 << 63)}}, true, false},
		{"subject pid only", CheckParams{Object: vm, Subject: &Subject{PID: 1}}, true, false},
		{"negative numbers", CheckParams{Object: vm, Subject: &Subject{PID: -1, UID: ptr[int64](-5)}}, false, false},
		{"no attributes", CheckParams{Object: Object{Type: "connect", Driver: "QEMU"}, Permission: "getattr"}, true, false},
		{"empty attributes", CheckParams{Object: Object{Type: "connect", Attributes: map[string]string{}}}, true, false},
		{"zero", CheckParams{}, true, false},
		{"escapes", CheckParams{Object: Object{Type: "do\"main", Driver: "a\\b", Attributes: map[string]string{"k\n": "\x00\x1f", "<&>": "\u2028"}}, Permission: "é"}, false, false},
		{"unicode", CheckParams{Object: Object{Type: "domäin", Attributes: map[string]string{"ключ": "值", "a": "😀"}}}, true, false},
		{"invalid UTF-8", CheckParams{Object: vm, Permission: "st\xffart"}, true, true}, // read back as U+FFFD
		{"invalid UTF-8 name", CheckParams{Object: Object{Attributes: map[string]string{"\xc3": "x"}}}, true, true},
		{"many", CheckManyParams{Permission: "start", Objects: []Object{vm, {Type: "network", Driver: "bridge"}}, Subject: &Subject{PID: 7}}, true, false},
		{"many nil", CheckManyParams{Permission: "start"}, true, false},
		{"many empty", CheckManyParams{Objects: []Object{}}, true, false},
		{"many invalid", CheckManyParams{Objects: []Object{{Driver: "\xfe"}}}, true, true},
		{"result", Result{Allowed: true, Cached: true, Driver: "none,polkit"}, true, false},
		{"result zero", Result{}, true, false},
		{"reply", CheckManyReply{Results: []Result{{Allowed: true, Driver: "polkit"}, {}}}, true, false},
		{"reply nil", CheckManyReply{}, true, false},
		{"reply escape", CheckManyReply{Results: []Result{{Driver: "\t"}}}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := libMarshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := tc.v.AppendCompactJSON([]byte("prefix"))
			if ok == tc.noUTF8 {
				t.Fatalf("AppendCompactJSON ok = %v, want %v", ok, !tc.noUTF8)
			}
			if ok && !bytes.Equal(got, append([]byte("prefix"), want...)) {
				t.Fatalf("appended\n%s\nthe library marshals\n%s", got, want)
			}
			if read := agreeDecoding(t, tc.v, want); read != tc.plain {
				t.Fatalf("fast decoder read the library's encoding: %v, want %v (%s)", read, tc.plain, want)
			}
		})
	}
}

// agreeDecoding decodes b into a new value of v's type with the fast
// decoder and with the library in strict mode, fails the test unless the
// fast decoder either declined (leaving the value zero) or read what the
// library reads, and reports whether it read it.
func agreeDecoding(t *testing.T, v any, b []byte) bool {
	t.Helper()
	typ := reflect.TypeOf(v)
	fast := reflect.New(typ)
	ok := fast.Interface().(interface{ UnmarshalCompactJSON([]byte) bool }).UnmarshalCompactJSON(b)
	if !ok {
		if !fast.Elem().IsZero() {
			t.Fatalf("%q: declined, but left %+v", b, fast.Elem())
		}
		return false
	}
	lib := reflect.New(typ)
	if err := libStrict(b, lib.Interface()); err != nil {
		t.Fatalf("%q: the fast decoder read it, the library refuses it: %v", b, err)
	}
	if !reflect.DeepEqual(fast.Interface(), lib.Interface()) {
		t.Fatalf("%q: the fast decoder read %+v, the library %+v", b, fast.Elem(), lib.Elem())
	}
	return true
}

func TestCompactDecodingDeclines(t *testing.T) {
	const vm = `{"type":"domain","driver":"QEMU","attributes":{"domain_name":"vm1"}}`
	for _, tc := range []struct {
		name string
		in   string
		read bool
	}{
		{"compact", `{"object":` + vm + `,"permission":"start","subject":{"pid":1,"uid":2,"startTime":3}}`, true},
		{"members in another order", `{"subject":{"startTime":3,"pid":1},"permission":"start","object":` + vm + `}`, true},
		{"empty", `{}`, true},
		{"whitespace", `{"permission": "start"}`, false},
		{"trailing whitespace", `{"permission":"start"} `, false},
		{"trailing data", `{"permission":"start"}{}`, false},
		{"truncated", `{"permission":"start"`, false},
		{"escape", `{"permission":"st\u0061rt"}`, false},
		{"escaped name", `{"perm\u0069ssion":"start"}`, false},
		{"twice", `{"permission":"start","permission":"stop"}`, false},
		{"attribute twice", `{"object":{"attributes":{"a":"1","a":"2"}}}`, false},
		{"unknown member", `{"permissions":"start"}`, false},
		{"other case", `{"Permission":"start"}`, false},
		{"null", `{"subject":null}`, false},
		{"negative", `{"subject":{"pid":-1}}`, false},
		{"minus zero", `{"subject":{"pid":-0}}`, false},
		{"leading zero", `{"subject":{"pid":01}}`, false},
		{"fraction", `{"subject":{"pid":1.0}}`, false},
		{"exponent", `{"subject":{"pid":1e3}}`, false},
		{"int64 overflow", `{"subject":{"pid":9223372036854775808}}`, false},
		{"int64 max", `{"subject":{"pid":9223372036854775807}}`, true},
		{"uint64 max", `{"subject":{"pid":0,"startTime":18446744073709551615}}`, true},
		{"uint64 overflow", `{"subject":{"startTime":18446744073709551616}}`, false},
		{"string for number", `{"subject":{"pid":"1"}}`, false},
		{"number for string", `{"permission":1}`, false},
		{"control character", "{\"permission\":\"a\tb\"}", false},
		{"invalid UTF-8", "{\"permission\":\"\xff\"}", false},
		{"comma before end", `{"permission":"start",}`, false},
		{"not an object", `[]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if read := agreeDecoding(t, CheckParams{}, []byte(tc.in)); read != tc.read {
				t.Fatalf("%s: read %v, want %v", tc.in, read, tc.read)
			}
		})
	}
}

// TestCompactRandom compares the fast paths with the library on random
// values whose strings mix plain text with characters to escape.
func TestCompactRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		for _, v := range []compact{
			CheckParams{Object: randObject(rng), Permission: randString(rng), Subject: randSubject(rng)},
			CheckManyParams{Permission: randString(rng), Objects: []Object{randObject(rng), randObject(rng)}, Subject: randSubject(rng)},
			CheckManyReply{Results: []Result{{Allowed: rng.IntN(2) == 0, Driver: randString(rng)}}},
		} {
			want, err := libMarshal(v)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := v.AppendCompactJSON(nil)
			if ok && !bytes.Equal(got, want) {
				t.Fatalf("value %d: appended\n%s\nthe library marshals\n%s", i, got, want)
			}
			agreeDecoding(t, v, want)
		}
		agreeEach(t, mustMarshal(t, CheckManyParams{Permission: "start", Objects: []Object{randObject(rng), randObject(rng), randObject(rng)}}))
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := libMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// agreeEach checks that UnmarshalCompactJSONEach reads b as
// UnmarshalCompactJSON does, object by object, though it reuses the
// object (and its map) it hands over.
func agreeEach(t *testing.T, b []byte) {
	t.Helper()
	var all, each CheckManyParams
	var objs []Object
	okAll := all.UnmarshalCompactJSON(b)
	okEach := each.UnmarshalCompactJSONEach(b, func(o *Object) {
		objs = append(objs, Object{Type: o.Type, Driver: o.Driver, Attributes: maps.Clone(o.Attributes)})
	})
	if okAll != okEach {
		t.Fatalf("%q: read at once %v, object by object %v", b, okAll, okEach)
	}
	if !okAll {
		return
	}
	if each.Objects != nil {
		t.Fatalf("%q: object by object left Objects %+v", b, each.Objects)
	}
	if len(all.Objects) > 0 {
		each.Objects = objs
	} else if len(objs) > 0 {
		t.Fatalf("%q: object by object handed over %+v, at once read none", b, objs)
	} else {
		all.Objects = nil
	}
	if !reflect.DeepEqual(all, each) {
		t.Fatalf("%q: read at once %+v, object by object %+v", b, all, each)
	}
}

func TestCompactEach(t *testing.T) {
	const vm = `{"type":"domain","driver":"QEMU","attributes":{"domain_name":"vm1","domain_uuid":"6695eb01-f6a4-8304-79aa-97f2502e193f"}}`
	for _, in := range []string{
		`{"permission":"start","objects":[` + vm + `,{"type":"network","driver":"bridge"},{"attributes":{}},` + vm + `]}`,
		`{"objects":[` + vm + `,{"attributes":{"network_name":"default"}}],"subject":{"pid":1}}`,
		`{"objects":[]}`,
		`{"permission":"start"}`,
		`{"objects":[` + vm + `,{"attributes":{"a":"1","a":"2"}}]}`,
		`{"objects":[` + vm + `,` + vm + `],"objects":[]}`,
		`{"objects":[` + vm + `,` + vm + `]`,
	} {
		agreeEach(t, []byte(in))
	}
}

func randString(rng *rand.Rand) string {
	parts := []string{"a", "vm", "domain_name", "\"", "\\", "\n", "\x00", "é", "\u2028", "😀", "\xff", "<", "/", " "}
	var b strings.Builder
	for range rng.IntN(4) {
		b.WriteString(parts[rng.IntN(len(parts))])
	}
	return b.String()
}

func randObject(rng *rand.Rand) Object {
	o := Object{Type: randString(rng), Driver: randString(rng)}
	if n := rng.IntN(4); n > 0 {
		o.Attributes = map[string]string{}
		for range n {
			o.Attributes[randString(rng)] = randString(rng)
		}
	}
	return o
}

func randSubject(rng *rand.Rand) *Subject {
	if rng.IntN(3) == 0 {
		return nil
	}
	s := &Subject{PID: rng.Int64() - rng.Int64()}
	if rng.IntN(2) == 0 {
		s.UID = ptr(rng.Int64())
	}
	if rng.IntN(2) == 0 {
		s.StartTime = ptr(rng.Uint64())
	}
	return s
}

// FuzzCompact decodes arbitrary input into each type with the fast
// decoder and the library: when the fast decoder reads it, the library
// must read the same; and what was read is appended as the library
// marshals it.
func FuzzCompact(f *testing.F) {
	for _, seed := range []string{
		`{"object":{"type":"domain","driver":"QEMU","attributes":{"domain_name":"vm1","domain_uuid":"6695eb01-f6a4-8304-79aa-97f2502e193f"}},"permission":"start","subject":{"pid":1,"uid":2,"startTime":3}}`,
		`{"permission":"start","objects":[{"type":"network","driver":"bridge"},{"type":"domain","driver":"QEMU","attributes":{}}],"subject":{"pid":9}}`,
		`{"allowed":true,"cached":false,"driver":"none"}`,
		`{"results":[{"allowed":true,"cached":true,"driver":"polkit"},{"allowed":false,"cached":false,"driver":""}]}`,
		`{"subject":{"pid":1,"pid":2}}`,
		`{"objects":[],"results":[]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, zero := range []compact{CheckParams{}, CheckManyParams{}, Result{}, CheckManyReply{}} {
			if _, many := zero.(CheckManyParams); many {
				agreeEach(t, b)
			}
			if !agreeDecoding(t, zero, b) {
				continue
			}
			v := reflect.New(reflect.TypeOf(zero))
			v.Interface().(interface{ UnmarshalCompactJSON([]byte) bool }).UnmarshalCompactJSON(b)
			read := v.Elem().Interface().(compact)
			want, err := libMarshal(read)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := read.AppendCompactJSON(nil); !ok || !bytes.Equal(got, want) {
				t.Fatalf("%s: read %+v, appended %s (%v), the library marshals %s", b, read, got, ok, want)
			}
		}
	})
}

func ExampleCheckParams_AppendCompactJSON() {
	p := CheckParams{Object: Object{Type: "domain", Driver: "QEMU", Attributes: map[string]string{"domain_name": "vm1"}}, Permission: "start"}
	b, ok := p.AppendCompactJSON(nil)
	fmt.Println(string(b), ok)
	// Output: {"object":{"type":"domain","driver":"QEMU","attributes":{"domain_name":"vm1"}},"permission":"start"} true
}

// TestCompactCoversEveryField fills every exported field of each type,
// nested ones too, and checks that the compact writer writes the
// library's bytes and the reader reads them back: a field added to a
// type and not to its compact codec fails here, rather than being
// dropped from calls on the wire.
func TestCompactCoversEveryField(t *testing.T) {
	for _, zero := range []compact{CheckParams{}, CheckManyParams{}, Result{}, CheckManyReply{}} {
		v := reflect.New(reflect.TypeOf(zero)).Elem()
		fill(v)
		full := v.Interface().(compact)
		want, err := libMarshal(full)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := full.AppendCompactJSON(nil); !ok || !bytes.Equal(got, want) {
			t.Errorf("%T: appended %s (%v), the library marshals %s", full, got, ok, want)
		}
		read := reflect.New(v.Type())
		if !read.Interface().(interface{ UnmarshalCompactJSON([]byte) bool }).UnmarshalCompactJSON(want) {
			t.Errorf("%T: the compact reader declined %s", full, want)
		} else if !reflect.DeepEqual(read.Elem().Interface(), full) {
			t.Errorf("%T: read %+v, want %+v", full, read.Elem(), full)
		}
	}
}

// fill sets every field of v, recursively, to a value other than zero.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		v.SetUint(8)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	default:
		panic("fill: no value for " + v.Type().String())
	}
}
