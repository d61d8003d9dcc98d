// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"fmt"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
)

// Driver is one access-control technology, as libvirt's access_drivers.
type Driver interface {
	// Name is the driver's name in configuration (acl.AccessDriverNone,
	// acl.AccessDriverPolkit).
	Name() string
	// Check reports whether r is allowed. An error means the driver could
	// not decide; the engine then denies and does not cache.
	Check(ctx context.Context, r Request) (bool, error)
}

// Watcher is implemented by drivers whose earlier answers outside events
// can make stale (polkit's rules changing). Watch calls invalidate for each
// such event until ctx ends.
type Watcher interface {
	Watch(ctx context.Context, invalidate func(reason string))
}

// None allows everything, like libvirt's default "none" driver. It exists
// so that stacks can be built and compared; on its own it is no access
// control at all.
type None struct{}

// Name returns "none".
func (None) Name() string { return acl.AccessDriverNone }

// Check allows.
func (None) Check(context.Context, Request) (bool, error) { return true, nil }

// stackName names a stack of drivers for logs and audit, e.g. "none,polkit".
func stackName(drivers []Driver) string {
	names := make([]string, len(drivers))
	for i, d := range drivers {
		names[i] = d.Name()
	}
	return strings.Join(names, ",")
}

// checkDrivers asks every driver, as libvirt does (no short-circuit), and
// allows only if all allow. The first error wins over any deny, so that an
// unavailable service is reported as such.
func checkDrivers(ctx context.Context, drivers []driverStats, r Request) (allowed bool, by string, err error) {
	allowed = true
	for i := range drivers {
		ok, derr := drivers[i].check(ctx, r)
		switch {
		case derr != nil && err == nil:
			err = fmt.Errorf("access driver %s: %w", drivers[i].Name(), derr)
			by = drivers[i].Name()
		case !ok && allowed && err == nil:
			by = drivers[i].Name()
		}
		allowed = allowed && ok && derr == nil
	}
	if err != nil {
		return false, by, err
	}
	return allowed, by, nil
}
