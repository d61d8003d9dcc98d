// SPDX-License-Identifier: Apache-2.0

package server

import (
	"github.com/go-json-experiment/json/jsontext"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// FuzzCheckParams feeds arbitrary parameters to what Check does before it
// reaches the engine: decoding and validating the object and permission.
// Nothing may panic, and an accepted object is always valid.
func FuzzCheckParams(f *testing.F) {
	for _, seed := range []string{
		`{"object":` + aliceVM + `,"permission":"start"}`,
		`{"object":{"type":"storage_vol","driver":"storage","attributes":{"pool_name":"p","pool_uuid":"00000000-0000-0000-0000-000000000001","vol_name":"v","vol_key":"/k"}},"permission":"storage_vol:read"}`,
		`{"object":{"type":"secret","driver":"secret","attributes":{"secret_uuid":"00000000-0000-0000-0000-000000000001","secret_usage_ceph":"x"}},"permission":"read_secure"}`,
		`{"object":{"type":"connect","driver":"QEMU"},"permission":"search-domains","subject":{"pid":1,"uid":0,"startTime":1}}`,
		`{"object":{"type":"interface","driver":"interface","attributes":{"interface_name":"eth0","interface_macaddr":"AA:bb:cc:dd:ee:ff"}},"permission":"x:y:z"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		c := varlink.Call{Method: accessapi.Interface + ".Check", Parameters: jsontext.Value(params)}
		var in accessapi.CheckParams
		if err := c.Decode(&in); err != nil {
			return
		}
		obj, err := parseObject(in.Object)
		if err != nil {
			return
		}
		if !obj.Valid() {
			t.Fatalf("invalid object accepted from %q", params)
		}
		if p, err := parsePermission(obj.Type(), in.Permission); err == nil && p.Object() != obj.Type() {
			t.Fatalf("permission %s accepted for a %s object", p, obj.Type())
		}
	})
}
