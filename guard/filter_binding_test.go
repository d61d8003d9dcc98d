// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/internal/ratelimit"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// The fake host's nwfilter bindings: vnetA on link eth0, vnetB, and vnetC
// whose filter changed since it was listed.
var bindings = []proto.RemoteNonnullNwfilterBinding{
	{Portdev: "vnetA", Filtername: "clean-traffic"},
	{Portdev: "vnetB", Filtername: "clean-traffic"},
	{Portdev: "vnetC", Filtername: "clean-traffic"},
}

// bindingAnswer answers the fake's binding list and XML calls as
// libvirtd would (virNWFilterBindingDefFormatBuf).
func bindingAnswer(args proto.Message) proto.Message {
	switch a := args.(type) {
	case *proto.RemoteConnectListAllNwfilterBindingsArgs:
		return &proto.RemoteConnectListAllNwfilterBindingsRet{Bindings: bindings, Ret: uint32(len(bindings))}
	case *proto.RemoteNwfilterBindingGetXMLDescArgs:
		return &proto.RemoteNwfilterBindingGetXMLDescRet{XML: bindingXML(a.Nwfilter.Portdev)}
	}
	return nil
}

// bindingXML is the fake's XML of the binding on port.
func bindingXML(port string) string {
	link, filter := "", "clean-traffic"
	switch port {
	case "vnetA":
		link = "<linkdev name='eth0'/>"
	case "vnetC":
		filter = "no-ip-spoofing"
	}
	return fmt.Sprintf("<filterbinding><owner><name>vm</name></owner><portdev name='%s'/>%s<filterref filter='%s'/></filterbinding>",
		port, link, filter)
}

// TestBindingsListed: a binding is decided on its port device, filter
// and the link device its XML names; one whose filter changed since it
// was listed is left out.
func TestBindingsListed(t *testing.T) {
	allow := []string{"connect:search_nwfilter_bindings ",
		"nwfilter_binding:getattr nwfilter_binding_linkdev=eth0", "nwfilter_binding:getattr nwfilter_binding_portdev=vnetC"}
	checkLists(t, allow, []listCase{
		{"bindings", proto.RemoteProcConnectListAllNwfilterBindings, &proto.RemoteConnectListAllNwfilterBindingsArgs{NeedResults: 1},
			whole, `&proto.RemoteConnectListAllNwfilterBindingsRet{Bindings:[]proto.RemoteNonnullNwfilterBinding{proto.RemoteNonnullNwfilterBinding{Portdev:"vnetA", Filtername:"clean-traffic"}}, Ret:0x1}`},
		{"count bindings", proto.RemoteProcConnectListAllNwfilterBindings, &proto.RemoteConnectListAllNwfilterBindingsArgs{},
			whole, `&proto.RemoteConnectListAllNwfilterBindingsRet{Bindings:[]proto.RemoteNonnullNwfilterBinding{}, Ret:0x1}`},
	})
}

// lookupFunc is a lookuper answering every call with its function.
type lookupFunc func(num proto.RemoteProcedure, args, ret proto.Message) error

func (f lookupFunc) call(_ context.Context, num proto.RemoteProcedure, args, ret proto.Message) error {
	return f(num, args, ret)
}

// bindingLookup answers a binding's XML call with xml, or fails with err.
func bindingLookup(xml string, err error) lookupFunc {
	return func(num proto.RemoteProcedure, _, ret proto.Message) error {
		if num != proto.RemoteProcNwfilterBindingGetXMLDesc {
			return fmt.Errorf("unexpected call %d", num)
		}
		if err != nil {
			return err
		}
		ret.(*proto.RemoteNwfilterBindingGetXMLDescRet).XML = xml
		return nil
	}
}

// libvirtdSaid is the error libvirtd answers the guard's lookup proc
// with, decoded from the wire as the lookup connection decodes it.
func libvirtdSaid(t *testing.T, proc proto.RemoteProcedure, code, domain int32, msg string) error {
	t.Helper()
	h := frame.Header{Prog: uint32(proto.Remote), Vers: proto.Remote.Version(), Proc: int32(proc), Type: frame.Reply, Serial: 7}
	m, err := frame.ErrorReply(h, libvirtError(code, domain, msg))
	if err != nil {
		t.Fatal(err)
	}
	table, err := proto.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	p, ok := table.Lookup(proto.Remote, h.Proc)
	if !ok {
		t.Fatalf("no procedure %d", proc)
	}
	return decodeReply(p, m, p.NewRet())
}

// TestListedBindingErrors: of the failures to identify a listed binding,
// only its being gone (VIR_ERR_NO_NWFILTER_BINDING) or its filter having
// changed leave it out; every other one refuses the whole list, naming
// the binding and the cause, and tells the client no more than that an
// entry could not be identified.
func TestListedBindingErrors(t *testing.T) {
	const fromNWFilter = 33 // VIR_FROM_NWFILTER
	listed := proto.RemoteNonnullNwfilterBinding{Portdev: "vnetB", Filtername: "clean-traffic"}
	said := func(code, domain int32, msg string) error {
		return libvirtdSaid(t, proto.RemoteProcNwfilterBindingGetXMLDesc, code, domain, msg)
	}
	for _, tt := range []struct {
		name   string
		up     lookuper
		result string // "kept", "left out" or "refused"
		cause  string // in the error
	}{
		{"found", bindingLookup(bindingXML("vnetB"), nil), "kept", ""},
		{"gone", bindingLookup("", said(errNoNwfilterBinding, fromNWFilter,
			"Network filter binding not found: no nwfilter binding for port dev 'vnetB'")), "left out", "no nwfilter binding"},
		{"filter changed", bindingLookup(strings.Replace(bindingXML("vnetB"), "clean-traffic", "no-ip-spoofing", 1), nil),
			"left out", "now no-ip-spoofing"},
		{"libvirtd internal error", bindingLookup("", said(errInternal, fromNWFilter, "internal error: oops")),
			"refused", "internal error: oops"},
		{"another not-found code", bindingLookup("", said(errNoDomain, 10, "Domain not found")), "refused", "Domain not found"},
		{"connection lost", bindingLookup("", fmt.Errorf("lookup connection: %w", io.EOF)), "refused", "lookup connection: EOF"},
		{"protocol error", bindingLookup("", errors.New("NWFILTER_BINDING_GET_XML_DESC reply: trailing bytes")), "refused", "trailing bytes"},
		{"XML names another port", bindingLookup(bindingXML("vnetZ"), nil), "refused", "another port"},
		{"XML unreadable", bindingLookup("<filterbinding", nil), "refused", "binding vnetB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &checker{objects: newObjects(tt.up, "QEMU")}
			obj, err := c.listedBinding(context.Background(), listed)
			if err == nil {
				if p, _ := obj.Get("nwfilter_binding_portdev"); p != "vnetB" {
					t.Errorf("object %v", obj)
				}
			}
			checkListed(t, err, tt.result, tt.cause, "vnetB")
		})
	}
}

// checkListed checks err, the error identifying a listed entry: that it
// keeps, leaves out or refuses (result) the entry, naming it (names) and
// the cause; and that a refusal tells the client no more than that an
// entry could not be identified.
func checkListed(t *testing.T, err error, result, cause string, names ...string) {
	t.Helper()
	got := "kept"
	switch {
	case err == nil:
	case leftOut(context.Background(), err):
		got = "left out"
	default:
		got = "refused"
	}
	if got != result {
		t.Fatalf("%s, want %s (err %v)", got, result, err)
	}
	if err == nil {
		return
	}
	for _, s := range append(names, cause) {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
	if got != "refused" {
		return
	}
	if !errors.Is(err, errListEntry) {
		t.Errorf("refusal %v is not errListEntry", err)
	}
	msg := *refuseMessage(t, err).Message
	if !strings.Contains(msg, errListEntry.Error()) {
		t.Errorf("the client is told %q", msg)
	}
	for _, s := range names {
		if strings.Contains(msg, s) {
			t.Errorf("the client is told %q, naming %q", msg, s)
		}
	}
}

// TestLeftOutOnHangUp: an entry whose lookup the session's end cut
// short is not left out, the list being abandoned (sendFiltered), nor is
// one libvirtd or the guard's lookup failed on; an entry the guard cannot
// identify for a cause of its own is left out, the session ended or not
// (a list whose session ended is then abandoned at its decision).
func TestLeftOutOnHangUp(t *testing.T) {
	live := context.Background()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	gone := errors.New("binding vnetB: gone since it was listed")
	cutShort := fmt.Errorf("binding vnetB: %w", context.Canceled)
	for _, tt := range []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"gone, the session live", live, gone, true},
		{"gone, the session ended", ended, gone, true},
		{"lookup cut short by the session's end", ended, cutShort, false},
		{"libvirtd's error", live, &RemoteError{Proc: "NWFILTER_BINDING_LOOKUP_BY_PORT_DEV", Body: &frame.ErrorBody{Code: 1}}, false},
		{"the guard's lookup failed", live, fmt.Errorf("binding vnetB: %w", errListEntry), false},
	} {
		if got := leftOut(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: left out %v, want %v", tt.name, got, tt.want)
		}
	}
}

// refuseMessage is the error the client gets when the guard refuses a
// list for err.
func refuseMessage(t *testing.T, err error) *frame.ErrorBody {
	t.Helper()
	c := listChecker(t, nil, map[string]bool{})
	origin := access.Origin{FrontEnd: FrontEnd, Operation: "ConnectListAllNwfilterBindings"}
	return c.refuse(context.Background(), origin, aclNone, objNone, fmt.Errorf("filtering the list: %w", err))
}

// listChecker is a checker deciding on the fake policy allowing allow,
// auditing to a discarded log, and looking objects up on up.
func listChecker(t *testing.T, up lookuper, allow map[string]bool) *checker {
	t.Helper()
	return listCheckerAudited(t, up, allow, &auditLog{})
}

// listCheckerAudited is listChecker whose engine audits to auditor.
func listCheckerAudited(t *testing.T, up lookuper, allow map[string]bool, auditor access.Auditor) *checker {
	t.Helper()
	e, err := access.New(access.Options{Drivers: []access.Driver{&policy{allow: allow}}, Auditor: auditor})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return &checker{engine: e, subject: proc.Process{PID: 1, UID: 1000, StartTime: 1}, log: slog.New(slog.DiscardHandler),
		limit: ratelimit.New(ratelimit.WarnEvery, nil), objects: newObjects(up, "QEMU")}
}
