// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
)

// TestManyParamsReadAlike checks that CheckMany's parameters give the
// same objects, count and error whether read in the compact form, each
// object made an acl.Object as it comes, or by the library, as the
// server does with any other form.
func TestManyParamsReadAlike(t *testing.T) {
	const badUUID = `{"type":"domain","driver":"QEMU","attributes":{"domain_name":"a","domain_uuid":"x"}}`
	const unknownAttr = `{"type":"domain","driver":"QEMU","attributes":{"domain_name":"a","colour":"red"}}`
	for _, tc := range []struct {
		name, in string
		compact  bool
		wantErr  string
	}{
		{"two objects", `{"permission":"getattr","objects":[` + aliceVM + `,` + bobVM + `]}`, true, ""},
		{"no objects", `{"permission":"getattr","objects":[]}`, true, ""},
		{"objects absent", `{"permission":"getattr"}`, true, ""},
		{"an object without attributes", `{"permission":"getattr","objects":[{"type":"network","driver":"bridge"}]}`, true,
			"objects[0]: object: network: missing attribute network_name"},
		{"first of three invalid", `{"objects":[` + badUUID + `,` + aliceVM + `,` + unknownAttr + `]}`, true, "objects[0]"},
		{"last of three invalid", `{"objects":[` + aliceVM + `,` + bobVM + `,` + unknownAttr + `]}`, true, "objects[2]"},
		{"unknown type", `{"objects":[` + aliceVM + `,{"type":"spaceship","driver":"QEMU"}]}`, true, "objects[1]"},
		{"spaced: the library reads it", `{"objects": [` + aliceVM + `, ` + badUUID + `]}`, false, "objects[1]"},
		{"escaped: the library reads it", `{"objects":[{"type":"dom\u0061in","driver":"QEMU","attributes":{"domain_name":"a","domain_uuid":"00000000-0000-0000-0000-000000000001"}}]}`, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fast, lib manyParams
			if got := fast.UnmarshalCompactJSON([]byte(tc.in)); got != tc.compact {
				t.Fatalf("read in the compact form: %v, want %v", got, tc.compact)
			}
			if err := json.Unmarshal([]byte(tc.in), &lib, json.RejectUnknownMembers(true)); err != nil {
				t.Fatalf("library: %v", err)
			}
			if !tc.compact {
				fast = lib
			}
			fastObjs, fastErr := fast.objects()
			libObjs, libErr := lib.objects()
			if fmt.Sprint(fastErr) != fmt.Sprint(libErr) || fast.count() != lib.count() {
				t.Fatalf("compact: %d objects, %v; library: %d objects, %v", fast.count(), fastErr, lib.count(), libErr)
			}
			if (fastErr == nil) != (tc.wantErr == "") || fastErr != nil && !strings.Contains(fastErr.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one with %q", fastErr, tc.wantErr)
			}
			if fastErr == nil && !reflect.DeepEqual(fastObjs, libObjs) && len(fastObjs)+len(libObjs) > 0 {
				t.Fatalf("compact read %v, library %v", fastObjs, libObjs)
			}
			if fast.Permission != lib.Permission || !reflect.DeepEqual(fast.Subject, lib.Subject) {
				t.Fatalf("compact read %+v, library %+v", fast.CheckManyParams, lib.CheckManyParams)
			}
		})
	}
}

// TestCheckManyErrorOrder: a CheckMany with more than one thing wrong
// gets the same answer whether its parameters were read in the compact
// form, each object made at once, or by the library: the object limit
// before an invalid object, an invalid object before the permission,
// and no objects answered before anything about them.
func TestCheckManyErrorOrder(t *testing.T) {
	s := newServer(t, byName{}, nil)
	const bad = `{"type":"domain","driver":"QEMU","attributes":{"domain_name":"a","domain_uuid":"x"}}`
	for _, tc := range []struct{ name, in, want string }{
		{"too many, one invalid", `{"permission":"getattr","objects":[` + bad + `,` + aliceVM + `,` + aliceVM + `,` + aliceVM + `]}`, "too many objects"},
		{"invalid object, unknown permission", `{"permission":"fly","objects":[` + aliceVM + `,` + bad + `]}`, "objects[1]"},
		{"no objects, unknown permission", `{"permission":"fly","objects":[]}`, `{"results":[]}`},
		{"unknown permission", `{"permission":"fly","objects":[` + aliceVM + `]}`, "fly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.WithValue(context.Background(), callerKey{}, newConnCaller(alice))
			answer := func(p *manyParams) string {
				out, err := s.checkMany(ctx, p)
				if err != nil {
					return err.Error()
				}
				b, _ := json.Marshal(out, json.Deterministic(true))
				return string(b)
			}
			var fast, lib manyParams
			if !fast.UnmarshalCompactJSON([]byte(tc.in)) {
				t.Fatal("not read in the compact form")
			}
			if err := json.Unmarshal([]byte(tc.in), &lib, json.RejectUnknownMembers(true)); err != nil {
				t.Fatal(err)
			}
			got, want := answer(&fast), answer(&lib)
			if got != want || !strings.Contains(got, tc.want) {
				t.Errorf("compact: %s\nlibrary: %s\nwant both to say %q", got, want, tc.want)
			}
		})
	}
}
