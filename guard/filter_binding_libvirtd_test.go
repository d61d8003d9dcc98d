// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// bindingPort is the port device of the binding TestListedBindingLibvirtd
// creates; no guest uses it.
const bindingPort = "vnet-vah-glist"

// TestListedBindingLibvirtd identifies a listed binding on a real
// libvirtd, on the guard's own lookup connection, through each way it can
// go: found; listed with a filter it no longer has (left out); deleted
// after it was listed, as when its guest stops between libvirtd's list
// and the guard's lookup (left out: libvirtd answers
// VIR_ERR_NO_NWFILTER_BINDING); and the lookup connection lost (the list
// refused).
func TestListedBindingLibvirtd(t *testing.T) {
	l := testsys.StartLibvirtd(t, testsys.LibvirtdOptions{})
	xml := filepath.Join(t.TempDir(), "binding.xml")
	doc := "<filterbinding><owner><name>x</name><uuid>a0000000-0000-4000-8000-00000000000b</uuid></owner>" +
		"<portdev name='" + bindingPort + "'/><mac address='52:54:00:00:00:0b'/><filterref filter='clean-traffic'/></filterbinding>"
	if err := os.WriteFile(xml, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := l.Virsh(nil, "nwfilter-binding-create", xml); err != nil {
		t.Fatalf("nwfilter-binding-create: %v: %s", err, out)
	}
	t.Cleanup(func() { l.Virsh(nil, "nwfilter-binding-delete", bindingPort) })

	ctx, _, lc := lookupOn(t, l)
	var list proto.RemoteConnectListAllNwfilterBindingsRet
	if err := lc.call(ctx, proto.RemoteProcConnectListAllNwfilterBindings, &proto.RemoteConnectListAllNwfilterBindingsArgs{NeedResults: 1}, &list); err != nil {
		t.Fatal(err)
	}
	var listed proto.RemoteNonnullNwfilterBinding
	for _, b := range list.Bindings {
		if b.Portdev == bindingPort {
			listed = b
		}
	}
	if listed.Filtername != "clean-traffic" {
		t.Fatalf("libvirtd listed %v, not the binding on %s", list.Bindings, bindingPort)
	}
	c := &checker{objects: newObjects(lc, "QEMU")}

	obj, err := c.listedBinding(ctx, listed)
	if f, _ := obj.Get("nwfilter_binding_filter"); err != nil || f != "clean-traffic" {
		t.Fatalf("found binding: %v, %v", obj, err)
	}
	changed := listed
	changed.Filtername = "no-ip-spoofing"
	if _, err := c.listedBinding(ctx, changed); err == nil || !leftOut(ctx, err) {
		t.Errorf("filter changed: %v, want left out", err)
	}

	if out, err := l.Virsh(nil, "nwfilter-binding-delete", bindingPort); err != nil {
		t.Fatalf("nwfilter-binding-delete: %v: %s", err, out)
	}
	if _, err := c.objects.binding(ctx, listed); !libvirtdSays(err, errNoNwfilterBinding) {
		t.Fatalf("libvirtd's answer for a deleted binding: %v, want VIR_ERR_NO_NWFILTER_BINDING", err)
	}
	if _, err := c.listedBinding(ctx, listed); err == nil || !leftOut(ctx, err) {
		t.Errorf("deleted after listing: %v, want left out", err)
	}

	lc.close()
	_, err = c.listedBinding(ctx, listed)
	if err == nil || leftOut(ctx, err) || !errors.Is(err, errListEntry) {
		t.Errorf("lookup connection lost: %v, want the list refused", err)
	}
}

// lookupOn opens a lookup connection to l, as the guard's own for a
// client of qemu:///system, and a context of a minute for its calls.
func lookupOn(t *testing.T, l *testsys.Libvirtd) (context.Context, *proto.Table, *lookupClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	name := "qemu:///system"
	lc, err := dialLookup(ctx, l.Socket, table, &name, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, table, lc
}
