// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"fmt"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// The fake host's nwfilter bindings: vnetA on link eth0, vnetB, and vnetC
// whose XML names another port (replaced since it was listed).
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
		port, link := a.Nwfilter.Portdev, ""
		switch port {
		case "vnetA":
			link = "<linkdev name='eth0'/>"
		case "vnetC":
			port = "vnetZ"
		}
		return &proto.RemoteNwfilterBindingGetXMLDescRet{XML: fmt.Sprintf(
			"<filterbinding><owner><name>vm</name></owner><portdev name='%s'/>%s<filterref filter='%s'/></filterbinding>",
			port, link, a.Nwfilter.Filtername)}
	}
	return nil
}

// TestBindingsListed: a binding is decided on its port device, filter
// and the link device its XML names; one whose XML names another port
// is left out.
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
