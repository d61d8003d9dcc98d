// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// The old ConnectList* calls answer names (or IDs, or UUID strings) and
// their ConnectNumOf* partners a count. Names are not enough to decide
// on (a domain's rules may name its UUID), so the guard asks libvirtd for
// the same objects whole, on its lookup connection, decides them in one
// CheckMany, and then keeps the names of the allowed ones and counts
// them: a count always agrees with the names the client may list.

// oldList says how the guard lists, whole, the objects an old call names.
type oldList struct {
	// whole returns the call that lists them: its procedure, args and ret.
	whole func(args proto.Message) (proto.RemoteProcedure, proto.Message, proto.Message)
	// key is what the old call names an object by.
	key func(v any) string
}

// The list flags (include/libvirt/libvirt-*.h): domains are ACTIVE 1,
// INACTIVE 2; networks, pools and interfaces INACTIVE 1, ACTIVE 2.
const (
	domainsActive, domainsInactive = 1, 2
	othersInactive, othersActive   = 1, 2
)

func listAll(num proto.RemoteProcedure, flags uint32) func(proto.Message) (proto.RemoteProcedure, proto.Message, proto.Message) {
	return func(proto.Message) (proto.RemoteProcedure, proto.Message, proto.Message) {
		var args, ret proto.Message
		switch num {
		case proto.RemoteProcConnectListAllDomains:
			args, ret = &proto.RemoteConnectListAllDomainsArgs{NeedResults: 1, Flags: flags}, &proto.RemoteConnectListAllDomainsRet{}
		case proto.RemoteProcConnectListAllNetworks:
			args, ret = &proto.RemoteConnectListAllNetworksArgs{NeedResults: 1, Flags: flags}, &proto.RemoteConnectListAllNetworksRet{}
		case proto.RemoteProcConnectListAllStoragePools:
			args, ret = &proto.RemoteConnectListAllStoragePoolsArgs{NeedResults: 1, Flags: flags}, &proto.RemoteConnectListAllStoragePoolsRet{}
		case proto.RemoteProcConnectListAllInterfaces:
			args, ret = &proto.RemoteConnectListAllInterfacesArgs{NeedResults: 1, Flags: flags}, &proto.RemoteConnectListAllInterfacesRet{}
		case proto.RemoteProcConnectListAllNwfilters:
			args, ret = &proto.RemoteConnectListAllNwfiltersArgs{NeedResults: 1, Flags: flags}, &proto.RemoteConnectListAllNwfiltersRet{}
		case proto.RemoteProcConnectListAllSecrets:
			args, ret = &proto.RemoteConnectListAllSecretsArgs{NeedResults: 1, Flags: flags}, &proto.RemoteConnectListAllSecretsRet{}
		}
		return num, args, ret
	}
}

// volumesOf lists the volumes of the pool the old call names.
func volumesOf(args proto.Message) (proto.RemoteProcedure, proto.Message, proto.Message) {
	var pool proto.RemoteNonnullStoragePool
	switch a := args.(type) {
	case *proto.RemoteStoragePoolListVolumesArgs:
		pool = a.Pool
	case *proto.RemoteStoragePoolNumOfVolumesArgs:
		pool = a.Pool
	}
	return proto.RemoteProcStoragePoolListAllVolumes,
		&proto.RemoteStoragePoolListAllVolumesArgs{Pool: pool, NeedResults: 1}, &proto.RemoteStoragePoolListAllVolumesRet{}
}

// nodeDevicesOf lists, by name, the devices of the capability the old
// call names; a node device's name is all libvirt decides it on.
func nodeDevicesOf(args proto.Message) (proto.RemoteProcedure, proto.Message, proto.Message) {
	list := &proto.RemoteNodeListDevicesArgs{Maxnames: proto.RemoteNodeDeviceListMax}
	switch a := args.(type) {
	case *proto.RemoteNodeListDevicesArgs:
		list.Cap, list.Flags = a.Cap, a.Flags
	case *proto.RemoteNodeNumOfDevicesArgs:
		list.Cap, list.Flags = a.Cap, a.Flags
	}
	return proto.RemoteProcNodeListDevices, list, &proto.RemoteNodeListDevicesRet{}
}

func byName(v any) string { return reflect.ValueOf(v).FieldByName("Name").String() }

func byID(v any) string { return strconv.Itoa(int(v.(proto.RemoteNonnullDomain).ID)) }

func byUUID(v any) string { return uuidString(v.(proto.RemoteNonnullSecret).UUID) }

func byItself(v any) string { return v.(string) }

// oldLists holds the old list and count procedures, both of each pair.
var oldLists = func() map[procKey]oldList {
	m := map[procKey]oldList{}
	pair := func(list, num proto.RemoteProcedure, ol oldList) {
		m[remote(list)], m[remote(num)] = ol, ol
	}
	pair(proto.RemoteProcConnectListDomains, proto.RemoteProcConnectNumOfDomains,
		oldList{listAll(proto.RemoteProcConnectListAllDomains, domainsActive), byID})
	pair(proto.RemoteProcConnectListDefinedDomains, proto.RemoteProcConnectNumOfDefinedDomains,
		oldList{listAll(proto.RemoteProcConnectListAllDomains, domainsInactive), byName})
	pair(proto.RemoteProcConnectListNetworks, proto.RemoteProcConnectNumOfNetworks,
		oldList{listAll(proto.RemoteProcConnectListAllNetworks, othersActive), byName})
	pair(proto.RemoteProcConnectListDefinedNetworks, proto.RemoteProcConnectNumOfDefinedNetworks,
		oldList{listAll(proto.RemoteProcConnectListAllNetworks, othersInactive), byName})
	pair(proto.RemoteProcConnectListStoragePools, proto.RemoteProcConnectNumOfStoragePools,
		oldList{listAll(proto.RemoteProcConnectListAllStoragePools, othersActive), byName})
	pair(proto.RemoteProcConnectListDefinedStoragePools, proto.RemoteProcConnectNumOfDefinedStoragePools,
		oldList{listAll(proto.RemoteProcConnectListAllStoragePools, othersInactive), byName})
	pair(proto.RemoteProcConnectListInterfaces, proto.RemoteProcConnectNumOfInterfaces,
		oldList{listAll(proto.RemoteProcConnectListAllInterfaces, othersActive), byName})
	pair(proto.RemoteProcConnectListDefinedInterfaces, proto.RemoteProcConnectNumOfDefinedInterfaces,
		oldList{listAll(proto.RemoteProcConnectListAllInterfaces, othersInactive), byName})
	pair(proto.RemoteProcConnectListNwfilters, proto.RemoteProcConnectNumOfNwfilters,
		oldList{listAll(proto.RemoteProcConnectListAllNwfilters, 0), byName})
	pair(proto.RemoteProcConnectListSecrets, proto.RemoteProcConnectNumOfSecrets,
		oldList{listAll(proto.RemoteProcConnectListAllSecrets, 0), byUUID})
	pair(proto.RemoteProcStoragePoolListVolumes, proto.RemoteProcStoragePoolNumOfVolumes,
		oldList{volumesOf, byName})
	pair(proto.RemoteProcNodeListDevices, proto.RemoteProcNodeNumOfDevices,
		oldList{nodeDevicesOf, byItself})
	return m
}()

// filterOld filters an old list's names, or sets an old count, in ret.
func (c *checker) filterOld(ctx context.Context, p *proto.Procedure, perm acl.Permission, ol oldList, args, ret proto.Message) error {
	num, wargs, wret := ol.whole(args)
	if err := c.objects.up.call(ctx, num, wargs, wret); err != nil {
		return err
	}
	whole, ok := objectList(wret, nonnullType[perm.Object()])
	if !ok {
		if whole, ok = plainList(wret); !ok {
			return fmt.Errorf("%w: no %s list in %T", errUnsupported, perm.Object(), wret)
		}
	}
	vals := whole.values()
	keep, err := c.allowed(ctx, p, perm, vals)
	if err != nil {
		return err
	}
	// The count is of the entries the names would be answered from, so
	// that the two agree: libvirtd names each object once in a list.
	if count := reflect.ValueOf(ret).Elem().FieldByName("Num"); count.IsValid() && count.Kind() == reflect.Int32 {
		count.SetInt(int64(countKept(keep)))
		return nil
	}
	names, ok := plainList(ret)
	if !ok {
		return fmt.Errorf("%w: no list of names in %T", errUnsupported, ret)
	}
	return answerNames(names, maxNames(args), vals, keep, ol.key)
}

// answerNames sets names to those of the allowed objects of the whole
// list vals, at most limit of them. libvirt filters before it cuts the
// list to the client's maximum: filtering libvirtd's own reply, already
// cut, would leave a client that asks for as many names as the count
// told it (as libvirt's Python bindings do) without some of its own.
func answerNames(names entryList, limit int, vals []any, keep []bool, key func(any) string) error {
	out := reflect.MakeSlice(names.v.Type(), 0, len(vals))
	for i, v := range vals {
		if !keep[i] || out.Len() >= limit {
			continue
		}
		name := key(v)
		e := reflect.New(names.v.Type().Elem()).Elem()
		switch e.Kind() {
		case reflect.String:
			e.SetString(name)
		case reflect.Int32:
			id, err := strconv.ParseInt(name, 10, 32)
			if err != nil {
				return fmt.Errorf("ID %q: %w", name, err)
			}
			e.SetInt(id)
		default:
			return fmt.Errorf("%w: a list of %s", errUnsupported, e.Kind())
		}
		out = reflect.Append(out, e)
	}
	names.v.Set(out)
	return nil
}

// maxNames is an old list call's maximum (maxnames, maxids, maxuuids),
// which libvirtd has checked: it answered the call.
func maxNames(args proto.Message) int {
	v := reflect.ValueOf(args).Elem()
	for i := range v.NumField() {
		if strings.HasPrefix(v.Type().Field(i).Name, "Max") && v.Field(i).Kind() == reflect.Int32 {
			return int(v.Field(i).Int())
		}
	}
	return 0
}
