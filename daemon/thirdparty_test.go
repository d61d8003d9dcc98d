// SPDX-License-Identifier: Apache-2.0

package daemon_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	vl "github.com/varlink/go/varlink"
	"github.com/varlink/go/varlink/idl"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
)

// TestThirdPartyClient drives the daemon with github.com/varlink/go, the
// varlink project's own Go implementation (also Debian's
// golang-github-varlink-go-dev), which this project did not write: its
// framing, its parser of interface definitions and its error handling
// must all accept what the daemon sends.
func TestThirdPartyClient(t *testing.T) {
	w := newWorld(t)
	d := w.startActivated(t, w.Config(t, "c.conf", baseConf))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := vl.NewConnection(ctx, "unix:"+d.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	var vendor, product, version, url string
	var ifaces []string
	if err := conn.GetInfo(ctx, &vendor, &product, &version, &url, &ifaces); err != nil {
		t.Fatal(err)
	}
	if product != "virt-acl-helper" || !slices.Contains(ifaces, accessapi.Interface) || !slices.Contains(ifaces, "org.varlink.service") {
		t.Errorf("GetInfo: product %q, interfaces %q", product, ifaces)
	}

	for _, name := range ifaces {
		desc, err := conn.GetInterfaceDescription(ctx, name)
		if err != nil {
			t.Fatalf("GetInterfaceDescription(%s): %v", name, err)
		}
		parsed, err := idl.New(desc)
		if err != nil {
			t.Fatalf("varlink/go cannot parse the definition of %s: %v", name, err)
		}
		if parsed.Name != name {
			t.Errorf("definition names %q, want %q", parsed.Name, name)
		}
		if name == accessapi.Interface {
			var methods, errs []string
			for _, m := range parsed.Methods {
				methods = append(methods, m.Name)
			}
			for _, e := range parsed.Errors {
				errs = append(errs, e.Name)
			}
			for _, want := range []string{"Check", "CheckMany", "Flush", "Stats"} {
				if !slices.Contains(methods, want) {
					t.Errorf("method %s missing from the definition", want)
				}
			}
			for _, want := range []string{"InvalidRequest", "UnknownPermission", "NoSuchProcess", "AuthorizationUnavailable", "AuditFailed", "NotPrivileged"} {
				if !slices.Contains(errs, want) {
					t.Errorf("error %s missing from the definition", want)
				}
			}
		}
	}

	var res accessapi.Result
	err = conn.Call(ctx, accessapi.Interface+".Check",
		accessapi.CheckParams{Object: vm("alice-vm", aliceUUID), Permission: "start"}, &res)
	if err != nil || !res.Allowed || res.Driver != "polkit" {
		t.Errorf("Check as root: %+v, %v", res, err)
	}

	err = conn.Call(ctx, accessapi.Interface+".Check",
		accessapi.CheckParams{Object: vm("alice-vm", aliceUUID), Permission: "fly"}, &res)
	var verr *vl.Error
	if !errors.As(err, &verr) || verr.Name != accessapi.ErrUnknownPermission {
		t.Errorf("unknown permission: %v, want a varlink error %s", err, accessapi.ErrUnknownPermission)
	}

	err = conn.Call(ctx, accessapi.Interface+".Nope", nil, nil)
	var notFound *vl.MethodNotFound
	if !errors.As(err, &notFound) {
		t.Errorf("unknown method: %v (%T), want varlink/go's MethodNotFound", err, err)
	}
}
