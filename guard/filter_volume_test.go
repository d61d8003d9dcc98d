// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// poolLookupBy answers a pool lookup by name with poolA, or fails with
// err, counting the lookups in n.
func poolLookupBy(err error, n *int) lookupFunc {
	return func(num proto.RemoteProcedure, args, ret proto.Message) error {
		if num != proto.RemoteProcStoragePoolLookupByName || args.(*proto.RemoteStoragePoolLookupByNameArgs).Name != poolA.Name {
			return fmt.Errorf("unexpected call %d %v", num, args)
		}
		*n++
		if err != nil {
			return err
		}
		ret.(*proto.RemoteStoragePoolLookupByNameRet).Pool = poolA
		return nil
	}
}

// TestListedVolumeErrors: of the failures to look up a listed volume's
// pool, only its being gone (VIR_ERR_NO_STORAGE_POOL) leaves the volume
// out; every other one refuses the whole list, naming the volume, its
// pool and the cause, and tells the client no more than that an entry
// could not be identified. The pool is looked up once for both of its
// volumes, whatever the answer.
func TestListedVolumeErrors(t *testing.T) {
	const fromStorage, noStorageVol = 18, 50 // VIR_FROM_STORAGE, VIR_ERR_NO_STORAGE_VOL
	said := func(code, domain int32, msg string) error {
		return libvirtdSaid(t, proto.RemoteProcStoragePoolLookupByName, code, domain, msg)
	}
	for _, tt := range []struct {
		name   string
		err    error  // the pool lookup's
		result string // "kept", "left out" or "refused"
		cause  string // in the error
	}{
		{"found", nil, "kept", ""},
		{"pool gone", said(errNoStoragePool, fromStorage, "Storage pool not found: no storage pool with matching name 'poolA'"),
			"left out", "no storage pool with matching name"},
		{"libvirtd internal error", said(errInternal, fromStorage, "internal error: oops"), "refused", "internal error: oops"},
		{"volume not found", said(noStorageVol, fromStorage, "Storage volume not found"), "refused", "Storage volume not found"},
		{"another not-found code", said(errNoDomain, 10, "Domain not found"), "refused", "Domain not found"},
		{"connection lost", fmt.Errorf("lookup connection: %w", io.EOF), "refused", "lookup connection: EOF"},
		{"protocol error", errors.New("STORAGE_POOL_LOOKUP_BY_NAME reply: trailing bytes"), "refused", "trailing bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			c := &checker{objects: newObjects(poolLookupBy(tt.err, &n), "QEMU")}
			for _, v := range []proto.RemoteNonnullStorageVol{vol1, vol2} {
				obj, err := c.listedVolume(context.Background(), v)
				if err == nil {
					if u, _ := obj.Get("pool_uuid"); u != uuidString(poolA.UUID) {
						t.Errorf("volume %s: pool UUID %s", v.Name, u)
					}
					if n, _ := obj.Get("vol_name"); n != v.Name {
						t.Errorf("volume %s: object names %s", v.Name, n)
					}
				}
				checkListed(t, err, tt.result, tt.cause, "volume "+v.Name, "pool poolA")
			}
			if n != 1 {
				t.Errorf("pool looked up %d times, want 1", n)
			}
		})
	}
}

// TestVolumePoolSharedLookup: an event's volume (objects.fromValue) and
// a listed one (listedVolume) find their pool through one lookup
// (objects.pool), made once per call whichever asks first.
func TestVolumePoolSharedLookup(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first func(context.Context, *checker) (acl.Object, error)
	}{
		{"event's object first", func(ctx context.Context, c *checker) (acl.Object, error) {
			return c.objects.fromValue(ctx, vol1)
		}},
		{"listed volume first", func(ctx context.Context, c *checker) (acl.Object, error) {
			return c.listedVolume(ctx, vol1)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			c := &checker{objects: newObjects(poolLookupBy(nil, &n), "QEMU")}
			ctx := context.Background()
			first, err := tt.first(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			second, err := c.objects.fromValue(ctx, vol2)
			if err != nil {
				t.Fatal(err)
			}
			third, err := c.listedVolume(ctx, vol2)
			if err != nil {
				t.Fatal(err)
			}
			for _, obj := range []acl.Object{first, second, third} {
				if u, _ := obj.Get("pool_uuid"); u != uuidString(poolA.UUID) {
					t.Errorf("%v: pool UUID %s", obj, u)
				}
			}
			if n != 1 {
				t.Errorf("pool looked up %d times, want 1", n)
			}
		})
	}
}
