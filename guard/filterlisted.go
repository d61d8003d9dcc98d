// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// The list entries the guard identifies with a lookup of its own (a
// volume's pool, a binding's XML), after libvirtd listed them: such an
// entry may be gone by then, and is left out; any other failure of the
// lookup refuses the whole list.

// errListEntry refuses a whole list: the guard could not identify one of
// its entries, for a reason that is not the entry's being gone. The
// client is told only this (the entry may be one it may not see); the
// refusal is audited, and the guard's log names the entry and the cause.
var errListEntry = errors.New("a listed object could not be identified; the guard's log says which and why")

// libvirt's error codes (include/libvirt/virterror.h) for an object a
// lookup did not find.
const (
	errNoStoragePool     = 49  // VIR_ERR_NO_STORAGE_POOL: no pool of that name
	errNoNwfilterBinding = 101 // VIR_ERR_NO_NWFILTER_BINDING: no binding on that port device
)

// listEntryError is the error of a failure (err) to identify the listed
// entry what: left out if err is libvirtd's answer gone, that the entry
// (or the object it lives in) no longer exists since it was listed;
// errListEntry, refusing the whole list, for anything else (the lookup
// connection lost, libvirtd's internal error, a reply the guard cannot
// read), as the guard cannot tell that entry from one the client may see;
// err itself when it is the session's end (ctx's) cutting the lookup
// short, which abandons the list unrecorded (filteraudit.go).
func listEntryError(ctx context.Context, what string, err error, gone int32) error {
	if sessionEnded(ctx, err) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if libvirtdSays(err, gone) {
		return fmt.Errorf("%s: gone since it was listed: %v", what, err) // not %w: left out
	}
	// Not %w for err: the client's answer is the guard's refusal, never
	// libvirtd's own error to the guard's lookup.
	return fmt.Errorf("%w: %s: %v", errListEntry, what, err)
}

// libvirtdSays reports whether err is libvirtd's error answer with code.
func libvirtdSays(err error, code int32) bool {
	var re *RemoteError
	return errors.As(err, &re) && re.Body.Code == code
}

// listedVolume builds the object of a listed storage volume: libvirt
// decides a volume on its pool's name and UUID too, which the list names
// only by name (objects.pool looks the pool up, once per list). A volume
// whose pool is gone since libvirtd listed it (a transient pool
// destroyed) is left out; any other failure to look the pool up refuses
// the list (listEntryError).
func (c *checker) listedVolume(ctx context.Context, v proto.RemoteNonnullStorageVol) (acl.Object, error) {
	pool, err := c.objects.pool(ctx, v.Pool)
	if err != nil {
		return acl.Object{}, listEntryError(ctx, fmt.Sprintf("storage volume %s in pool %s", v.Name, v.Pool), err, errNoStoragePool)
	}
	return c.objects.volume(pool, v)
}

// listedBinding builds the object of a listed nwfilter binding
// (objects.binding). A binding gone since libvirtd listed it (its guest
// stopped), or changed to another filter, is left out, not the whole list
// refused; any other failure refuses the list (listEntryError).
func (c *checker) listedBinding(ctx context.Context, v proto.RemoteNonnullNwfilterBinding) (acl.Object, error) {
	obj, err := c.objects.binding(ctx, v)
	if err != nil {
		return acl.Object{}, listEntryError(ctx, "nwfilter binding "+v.Portdev, err, errNoNwfilterBinding)
	}
	if f, _ := obj.Get("nwfilter_binding_filter"); f != v.Filtername {
		return acl.Object{}, fmt.Errorf("binding %s: listed with filter %s, now %s", v.Portdev, v.Filtername, f)
	}
	return obj, nil
}
