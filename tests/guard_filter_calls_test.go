// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"fmt"
	"net"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// listView is what one list procedure (or old list/count pair) showed a
// client: the count it was told and the names it was given.
type listView struct {
	N     int
	Names []string
}

func (v listView) String() string {
	return fmt.Sprintf("n=%d names=%s", v.N, strings.Join(v.Names, ","))
}

// parseViews reads the lines "label: n=N names=a,b" that printViews wrote.
func parseViews(out string) map[string]listView {
	views := map[string]listView{}
	for _, line := range strings.Split(out, "\n") {
		label, rest, ok := strings.Cut(line, ": n=")
		if !ok {
			continue
		}
		var v listView
		n, names, _ := strings.Cut(rest, " names=")
		fmt.Sscan(n, &v.N)
		if names != "" {
			v.Names = strings.Split(names, ",")
		}
		views[label] = v
	}
	return views
}

// listCall is one way to list objects: a count call and a call for the
// names (the old pairs), or one ConnectListAll* procedure asked without
// results (the count) and with them (the names).
type listCall struct {
	label        string
	count, names proto.RemoteProcedure
	countArgs    proto.Message
	namesArgs    proto.Message
}

// listCalls are the old pairs (the names asked for as many as the count
// said) and ListAll procedures of every object type
// TestGuardFiltersObjects creates; pool is the pool whose volumes are
// listed.
func listCalls(pool proto.RemoteNonnullStoragePool) []listCall {
	void := &proto.Void{}
	return []listCall{
		{"old networks active", proto.RemoteProcConnectNumOfNetworks, proto.RemoteProcConnectListNetworks, void,
			&proto.RemoteConnectListNetworksArgs{Maxnames: proto.RemoteNetworkListMax}},
		{"old networks defined", proto.RemoteProcConnectNumOfDefinedNetworks, proto.RemoteProcConnectListDefinedNetworks, void,
			&proto.RemoteConnectListDefinedNetworksArgs{Maxnames: proto.RemoteNetworkListMax}},
		{"old pools active", proto.RemoteProcConnectNumOfStoragePools, proto.RemoteProcConnectListStoragePools, void,
			&proto.RemoteConnectListStoragePoolsArgs{Maxnames: proto.RemoteStoragePoolListMax}},
		{"old pools defined", proto.RemoteProcConnectNumOfDefinedStoragePools, proto.RemoteProcConnectListDefinedStoragePools, void,
			&proto.RemoteConnectListDefinedStoragePoolsArgs{Maxnames: proto.RemoteStoragePoolListMax}},
		{"old volumes", proto.RemoteProcStoragePoolNumOfVolumes, proto.RemoteProcStoragePoolListVolumes,
			&proto.RemoteStoragePoolNumOfVolumesArgs{Pool: pool},
			&proto.RemoteStoragePoolListVolumesArgs{Pool: pool, Maxnames: proto.RemoteStorageVolListMax}},
		{"old secrets", proto.RemoteProcConnectNumOfSecrets, proto.RemoteProcConnectListSecrets, void,
			&proto.RemoteConnectListSecretsArgs{Maxuuids: proto.RemoteSecretListMax}},
		{"old nwfilters", proto.RemoteProcConnectNumOfNwfilters, proto.RemoteProcConnectListNwfilters, void,
			&proto.RemoteConnectListNwfiltersArgs{Maxnames: proto.RemoteNwfilterListMax}},
		{"old node devices", proto.RemoteProcNodeNumOfDevices, proto.RemoteProcNodeListDevices,
			&proto.RemoteNodeNumOfDevicesArgs{},
			&proto.RemoteNodeListDevicesArgs{Maxnames: proto.RemoteNodeDeviceListMax}},
		{"all networks", proto.RemoteProcConnectListAllNetworks, proto.RemoteProcConnectListAllNetworks,
			&proto.RemoteConnectListAllNetworksArgs{}, &proto.RemoteConnectListAllNetworksArgs{NeedResults: 1}},
		{"all pools", proto.RemoteProcConnectListAllStoragePools, proto.RemoteProcConnectListAllStoragePools,
			&proto.RemoteConnectListAllStoragePoolsArgs{}, &proto.RemoteConnectListAllStoragePoolsArgs{NeedResults: 1}},
		{"all volumes", proto.RemoteProcStoragePoolListAllVolumes, proto.RemoteProcStoragePoolListAllVolumes,
			&proto.RemoteStoragePoolListAllVolumesArgs{Pool: pool}, &proto.RemoteStoragePoolListAllVolumesArgs{Pool: pool, NeedResults: 1}},
		{"all secrets", proto.RemoteProcConnectListAllSecrets, proto.RemoteProcConnectListAllSecrets,
			&proto.RemoteConnectListAllSecretsArgs{}, &proto.RemoteConnectListAllSecretsArgs{NeedResults: 1}},
		{"all nwfilters", proto.RemoteProcConnectListAllNwfilters, proto.RemoteProcConnectListAllNwfilters,
			&proto.RemoteConnectListAllNwfiltersArgs{}, &proto.RemoteConnectListAllNwfiltersArgs{NeedResults: 1}},
		{"all nwfilter bindings", proto.RemoteProcConnectListAllNwfilterBindings, proto.RemoteProcConnectListAllNwfilterBindings,
			&proto.RemoteConnectListAllNwfilterBindingsArgs{}, &proto.RemoteConnectListAllNwfilterBindingsArgs{NeedResults: 1}},
		{"all node devices", proto.RemoteProcConnectListAllNodeDevices, proto.RemoteProcConnectListAllNodeDevices,
			&proto.RemoteConnectListAllNodeDevicesArgs{}, &proto.RemoteConnectListAllNodeDevicesArgs{NeedResults: 1}},
	}
}

// callViews connects to sock (a guard's or libvirtd's), opens
// qemu:///system and makes every listCall, looking poolName up first.
func callViews(sock, poolName string) (map[string]listView, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	rc := &rawClient{c: c}
	uri := "qemu:///system"
	if _, err := decodedCall(rc, proto.RemoteProcConnectOpen, &proto.RemoteConnectOpenArgs{Name: &uri}); err != nil {
		return nil, err
	}
	ret, err := decodedCall(rc, proto.RemoteProcStoragePoolLookupByName, &proto.RemoteStoragePoolLookupByNameArgs{Name: poolName})
	if err != nil {
		return nil, err
	}
	views := map[string]listView{}
	for _, lc := range listCalls(ret.(*proto.RemoteStoragePoolLookupByNameRet).Pool) {
		cret, err := decodedCall(rc, lc.count, lc.countArgs)
		if err != nil {
			return nil, fmt.Errorf("%s: count: %w", lc.label, err)
		}
		if strings.HasPrefix(lc.label, "old ") {
			// As libvirt's Python bindings do: as many names as the
			// count said.
			setMax(lc.namesArgs, retCount(cret))
		}
		nret, err := decodedCall(rc, lc.names, lc.namesArgs)
		if err != nil {
			return nil, fmt.Errorf("%s: names: %w", lc.label, err)
		}
		views[lc.label] = listView{N: retCount(cret), Names: retNames(nret)}
	}
	return views, nil
}

// decodedCall calls num and decodes its reply; an error reply is an error.
func decodedCall(rc *rawClient, num proto.RemoteProcedure, args proto.Message) (proto.Message, error) {
	m, err := rc.call(num, args)
	if err != nil {
		return nil, err
	}
	if m.Header.Status != frame.OK {
		eb, err := frame.ParseError(m.Body)
		if err != nil {
			return nil, err
		}
		return nil, eb
	}
	table, err := proto.NewTable()
	if err != nil {
		return nil, err
	}
	p, ok := table.Lookup(proto.Remote, int32(num))
	if !ok {
		return nil, fmt.Errorf("procedure %d unknown", num)
	}
	return p.DecodeRet(m.Body)
}

// setMax sets an old list call's maximum (maxnames, maxuuids) to n.
func setMax(args proto.Message, n int) {
	v := reflect.ValueOf(args).Elem()
	for i := range v.NumField() {
		if strings.HasPrefix(v.Type().Field(i).Name, "Max") {
			v.Field(i).SetInt(int64(n))
		}
	}
}

// retCount is a count reply's num, or a ListAll reply's ret.
func retCount(ret proto.Message) int {
	v := reflect.ValueOf(ret).Elem()
	if f := v.FieldByName("Num"); f.IsValid() {
		return int(f.Int())
	}
	return int(v.FieldByName("Ret").Uint())
}

// retNames are the names in a list reply, sorted: the strings of an old
// list, or each object's name (a secret's UUID, a binding's port device).
func retNames(ret proto.Message) []string {
	var names []string
	list := reflect.ValueOf(ret).Elem().Field(0)
	for i := range list.Len() {
		switch e := list.Index(i).Interface().(type) {
		case string:
			names = append(names, e)
		case proto.RemoteNonnullSecret:
			names = append(names, uuidText(e.UUID))
		case proto.RemoteNonnullNwfilterBinding:
			names = append(names, e.Portdev)
		default:
			names = append(names, list.Index(i).FieldByName("Name").String())
		}
	}
	slices.Sort(names)
	return names
}

func uuidText(u [proto.VirUUIDBuflen]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// TestGuardFilterCallsClient is TestGuardFiltersObjects' client of the
// list procedures virsh does not use, run as a user: it prints what each
// showed.
func TestGuardFilterCallsClient(t *testing.T) {
	sock := os.Getenv("VAH_GFO_SOCK")
	if sock == "" {
		t.Log("the client of TestGuardFiltersObjects; nothing to do on its own")
		return
	}
	views, err := callViews(sock, os.Getenv("VAH_GFO_POOL"))
	if err != nil {
		t.Fatal(err)
	}
	for label, v := range views {
		fmt.Printf("%s: %s\n", label, v)
	}
}
