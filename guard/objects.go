// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// errUnsupported marks a call whose object the guard cannot identify; it
// is denied.
var errUnsupported = errors.New("the guard cannot identify the object of this call")

// errLookup marks the failure of the guard's own lookup of an object in
// libvirtd (a volume's pool, a binding's XML), wrapped with libvirtd's
// answer or the connection's error.
var errLookup = errors.New("the guard's lookup in libvirtd failed")

// lookuper makes the guard's own calls to libvirtd. lookupClient is one;
// tests use fakes.
type lookuper interface {
	call(ctx context.Context, num proto.RemoteProcedure, args, ret proto.Message) error
}

// objects identifies the objects of one call. It keeps what it found for
// the call only: the next call asks libvirtd again.
type objects struct {
	up     lookuper
	driver string // connect_driver: the connection's driver (CONNECT_GET_TYPE)
	// found memoises fromArgs: a call's rules on one object type (domain:write
	// and domain:save, or read and read_secure) are decided on one object,
	// found with one lookup, and with one fresh UUID where a definition has
	// none. keep seeds it.
	found map[acl.ObjectType]acl.Object
	// pools memoises pool: a list of volumes names each one's pool by
	// name, and the pool is looked up once for all of them. Answers and
	// failures alike are kept for the objects' life, which is one call's
	// or one event's (newObjects per checker): a checker reused later
	// would see stale pools.
	pools map[string]poolLookup
}

// poolLookup is the lookup of a pool by name: the pool, or its error.
type poolLookup struct {
	pool proto.RemoteNonnullStoragePool
	err  error
}

func newObjects(up lookuper, driver string) *objects {
	return &objects{up: up, driver: driver, found: map[acl.ObjectType]acl.Object{}, pools: map[string]poolLookup{}}
}

// pool looks up the storage pool of a volume by its name, as libvirt
// finds a volume's pool (src/storage/storage_driver.c
// virStorageVolDefFromVol), once per call: the answer, or its failure,
// serves the call's other volumes in that pool.
func (o *objects) pool(ctx context.Context, name string) (proto.RemoteNonnullStoragePool, error) {
	pl, ok := o.pools[name]
	if !ok {
		var r proto.RemoteStoragePoolLookupByNameRet
		err := o.up.call(ctx, proto.RemoteProcStoragePoolLookupByName, &proto.RemoteStoragePoolLookupByNameArgs{Name: name}, &r)
		if err != nil {
			err = fmt.Errorf("%w: storage pool %s: %w", errLookup, name, err)
		}
		pl = poolLookup{pool: r.Pool, err: err}
		o.pools[name] = pl
	}
	return pl.pool, pl.err
}

// fromArgs returns the object of type t that a call with args acts on:
// the connection itself, or the object the arguments name by UUID (or by
// name where libvirt finds it by name), with its name and other details
// from libvirtd's answer to the guard's own lookup.
func (o *objects) fromArgs(ctx context.Context, perm acl.Permission, args proto.Message) (acl.Object, error) {
	t := perm.Object()
	if obj, ok := o.found[t]; ok {
		return obj, nil
	}
	obj, err := o.identifyArgs(ctx, perm, args)
	if err != nil {
		return acl.Object{}, err
	}
	o.keep(obj)
	return obj, nil
}

// keep makes obj the object of its type that the rest of the call is
// decided on (fromArgs returns it).
func (o *objects) keep(obj acl.Object) {
	o.found[obj.Type()] = obj
}

func (o *objects) identifyArgs(ctx context.Context, perm acl.Permission, args proto.Message) (acl.Object, error) {
	t := perm.Object()
	if t == acl.Connect {
		return o.object(t, nil)
	}
	if a, ok := args.(*proto.RemoteNetworkPortCreateXMLArgs); ok && t == acl.NetworkPort {
		return o.networkPortFromXML(ctx, a)
	}
	if t == acl.StorageVol {
		switch a := args.(type) {
		case *proto.RemoteStorageVolCreateXMLArgs:
			return o.volumeFromXML(ctx, a.Pool, a.XML)
		case *proto.RemoteStorageVolCreateXMLFromArgs:
			return o.volumeFromXML(ctx, a.Pool, a.XML)
		}
	}
	if doc, ok := definedXML(t, args); ok {
		return o.fromXML(t, doc)
	}
	if t == acl.NodeDevice {
		if name, ok := nodeDeviceNameArg(args); ok {
			return o.nodeDevice(ctx, name)
		}
	}
	vals := fieldsOf(args, nonnullType[t])
	if len(vals) != 1 {
		return acl.Object{}, fmt.Errorf("%w: %d %s arguments in %T", errUnsupported, len(vals), t, args)
	}
	switch v := vals[0].(type) {
	case proto.RemoteNonnullDomain:
		var r proto.RemoteDomainLookupByUUIDRet
		if err := o.up.call(ctx, proto.RemoteProcDomainLookupByUUID, &proto.RemoteDomainLookupByUUIDArgs{UUID: v.UUID}, &r); err != nil {
			return acl.Object{}, err
		}
		return o.fromValue(ctx, r.Dom)
	case proto.RemoteNonnullNetwork:
		var r proto.RemoteNetworkLookupByUUIDRet
		if err := o.up.call(ctx, proto.RemoteProcNetworkLookupByUUID, &proto.RemoteNetworkLookupByUUIDArgs{UUID: v.UUID}, &r); err != nil {
			return acl.Object{}, err
		}
		return o.fromValue(ctx, r.Net)
	case proto.RemoteNonnullStoragePool:
		var r proto.RemoteStoragePoolLookupByUUIDRet
		if err := o.up.call(ctx, proto.RemoteProcStoragePoolLookupByUUID, &proto.RemoteStoragePoolLookupByUUIDArgs{UUID: v.UUID}, &r); err != nil {
			return acl.Object{}, err
		}
		return o.fromValue(ctx, r.Pool)
	case proto.RemoteNonnullNwfilter:
		var r proto.RemoteNwfilterLookupByUUIDRet
		if err := o.up.call(ctx, proto.RemoteProcNwfilterLookupByUUID, &proto.RemoteNwfilterLookupByUUIDArgs{UUID: v.UUID}, &r); err != nil {
			return acl.Object{}, err
		}
		return o.fromValue(ctx, r.Nwfilter)
	case proto.RemoteNonnullSecret:
		var r proto.RemoteSecretLookupByUUIDRet
		if err := o.up.call(ctx, proto.RemoteProcSecretLookupByUUID, &proto.RemoteSecretLookupByUUIDArgs{UUID: v.UUID}, &r); err != nil {
			return acl.Object{}, err
		}
		return o.fromValue(ctx, r.Secret)
	case proto.RemoteNonnullStorageVol:
		// libvirt finds a volume by its pool's name and its own name
		// (src/storage/storage_driver.c virStorageVolDefFromVol).
		pool, err := o.pool(ctx, v.Pool)
		if err != nil {
			return acl.Object{}, err
		}
		var r proto.RemoteStorageVolLookupByNameRet
		if err := o.up.call(ctx, proto.RemoteProcStorageVolLookupByName, &proto.RemoteStorageVolLookupByNameArgs{Pool: pool, Name: v.Name}, &r); err != nil {
			return acl.Object{}, err
		}
		return o.volume(pool, r.Vol)
	case proto.RemoteNonnullInterface:
		var r proto.RemoteInterfaceLookupByNameRet
		if err := o.up.call(ctx, proto.RemoteProcInterfaceLookupByName, &proto.RemoteInterfaceLookupByNameArgs{Name: v.Name}, &r); err != nil {
			return acl.Object{}, err
		}
		return o.fromValue(ctx, r.Iface)
	case proto.RemoteNonnullNodeDevice:
		return o.nodeDevice(ctx, v.Name)
	case proto.RemoteNonnullNwfilterBinding:
		return o.binding(ctx, v) // found by port device, as libvirt finds it
	case proto.RemoteNonnullNetworkPort:
		var n proto.RemoteNetworkLookupByUUIDRet
		if err := o.up.call(ctx, proto.RemoteProcNetworkLookupByUUID, &proto.RemoteNetworkLookupByUUIDArgs{UUID: v.Net.UUID}, &n); err != nil {
			return acl.Object{}, err
		}
		var r proto.RemoteNetworkPortLookupByUUIDRet
		if err := o.up.call(ctx, proto.RemoteProcNetworkPortLookupByUUID, &proto.RemoteNetworkPortLookupByUUIDArgs{Network: n.Net, UUID: v.UUID}, &r); err != nil {
			return acl.Object{}, err
		}
		return o.fromValue(ctx, r.Port)
	}
	return acl.Object{}, fmt.Errorf("%w: %s objects", errUnsupported, t)
}

// fromRet returns the object of type t that a lookup's result names, as
// libvirtd returned it.
func (o *objects) fromRet(ctx context.Context, t acl.ObjectType, ret proto.Message) (acl.Object, error) {
	vals := fieldsOf(ret, nonnullType[t])
	if len(vals) != 1 {
		return acl.Object{}, fmt.Errorf("%w: %d %s objects in %T", errUnsupported, len(vals), t, ret)
	}
	return o.fromValue(ctx, vals[0])
}

// fromValue builds the object libvirtd described in v.
func (o *objects) fromValue(ctx context.Context, v any) (acl.Object, error) {
	switch v := v.(type) {
	case proto.RemoteNonnullDomain:
		return o.object(acl.Domain, map[string]string{"domain_name": v.Name, "domain_uuid": uuidString(v.UUID)})
	case proto.RemoteNonnullNetwork:
		return o.object(acl.Network, map[string]string{"network_name": v.Name, "network_uuid": uuidString(v.UUID)})
	case proto.RemoteNonnullStoragePool:
		return o.object(acl.StoragePool, map[string]string{"pool_name": v.Name, "pool_uuid": uuidString(v.UUID)})
	case proto.RemoteNonnullNwfilter:
		return o.object(acl.NWFilter, map[string]string{"nwfilter_name": v.Name, "nwfilter_uuid": uuidString(v.UUID)})
	case proto.RemoteNonnullInterface:
		return o.object(acl.Interface, map[string]string{"interface_name": v.Name, "interface_macaddr": v.MAC})
	case proto.RemoteNonnullNodeDevice:
		return o.object(acl.NodeDevice, map[string]string{"node_device_name": v.Name})
	case proto.RemoteNonnullNetworkPort:
		return o.object(acl.NetworkPort, map[string]string{"network_name": v.Net.Name,
			"network_uuid": uuidString(v.Net.UUID), "port_uuid": uuidString(v.UUID)})
	case proto.RemoteNonnullSecret:
		return o.secret(v)
	case proto.RemoteNonnullNwfilterBinding:
		return o.binding(ctx, v)
	case proto.RemoteNonnullStorageVol:
		pool, err := o.pool(ctx, v.Pool)
		if err != nil {
			return acl.Object{}, err
		}
		return o.volume(pool, v)
	}
	return acl.Object{}, fmt.Errorf("%w: %T", errUnsupported, v)
}

// binding builds the object of the nwfilter binding on port device
// v.Portdev. libvirt decides a binding on its port device, filter and
// link device (src/access/viraccessdriverpolkit.c), on the binding it
// finds by port device; the protocol names only the first two, so all
// three are read from the binding's XML as libvirtd gives it, never
// taken from the client.
func (o *objects) binding(ctx context.Context, v proto.RemoteNonnullNwfilterBinding) (acl.Object, error) {
	var r proto.RemoteNwfilterBindingGetXMLDescRet
	err := o.up.call(ctx, proto.RemoteProcNwfilterBindingGetXMLDesc, &proto.RemoteNwfilterBindingGetXMLDescArgs{Nwfilter: v}, &r)
	if err != nil {
		return acl.Object{}, fmt.Errorf("%w: nwfilter binding %s: %w", errLookup, v.Portdev, err)
	}
	e, err := readXML(r.XML, xmlKinds[acl.NWFilterBinding])
	if err != nil {
		return acl.Object{}, fmt.Errorf("binding %s: %w", v.Portdev, err)
	}
	pd, f := e.Child("portdev"), e.Child("filterref")
	if pd == nil || f == nil || attr(pd, "name") != v.Portdev {
		return acl.Object{}, fmt.Errorf("binding %s: libvirtd's XML names another port or no filter", v.Portdev)
	}
	attrs := map[string]string{"nwfilter_binding_portdev": v.Portdev, "nwfilter_binding_filter": attr(f, "filter")}
	if ld := e.Child("linkdev"); ld != nil {
		attrs["nwfilter_binding_linkdev"] = attr(ld, "name")
	}
	return o.object(acl.NWFilterBinding, attrs)
}

func (o *objects) object(t acl.ObjectType, attrs map[string]string) (acl.Object, error) {
	obj, err := acl.NewObject(t, o.driver, attrs)
	if err != nil {
		return acl.Object{}, fmt.Errorf("object libvirtd described: %w", err)
	}
	return obj, nil
}

func (o *objects) volume(pool proto.RemoteNonnullStoragePool, v proto.RemoteNonnullStorageVol) (acl.Object, error) {
	return o.object(acl.StorageVol, map[string]string{"pool_name": pool.Name, "pool_uuid": uuidString(pool.UUID),
		"vol_name": v.Name, "vol_key": v.Key})
}

func (o *objects) nodeDevice(ctx context.Context, name string) (acl.Object, error) {
	var r proto.RemoteNodeDeviceLookupByNameRet
	if err := o.up.call(ctx, proto.RemoteProcNodeDeviceLookupByName, &proto.RemoteNodeDeviceLookupByNameArgs{Name: name}, &r); err != nil {
		return acl.Object{}, err
	}
	return o.fromValue(ctx, r.Dev)
}

// secretUsageKeys are the polkit details of a secret's usage, by usage
// type (src/access/viraccessdriverpolkit.c; include/libvirt/libvirt-secret.h).
var secretUsageKeys = map[int32]string{
	1: "secret_usage_volume", // VIR_SECRET_USAGE_TYPE_VOLUME
	2: "secret_usage_ceph",   // VIR_SECRET_USAGE_TYPE_CEPH
	3: "secret_usage_target", // VIR_SECRET_USAGE_TYPE_ISCSI
	4: "secret_usage_name",   // VIR_SECRET_USAGE_TYPE_TLS
}

func (o *objects) secret(v proto.RemoteNonnullSecret) (acl.Object, error) {
	attrs := map[string]string{"secret_uuid": uuidString(v.UUID)}
	// libvirt passes no usage detail for VIR_SECRET_USAGE_TYPE_NONE (0)
	// and, by its switch's default, VIR_SECRET_USAGE_TYPE_VTPM (5).
	if v.UsageType != 0 && v.UsageType != 5 {
		key, ok := secretUsageKeys[v.UsageType]
		if !ok {
			return acl.Object{}, fmt.Errorf("%w: secret usage type %d", errUnsupported, v.UsageType)
		}
		attrs[key] = v.UsageID
	}
	return o.object(acl.Secret, attrs)
}

// nonnullType maps an object type to the protocol struct naming one.
var nonnullType = map[acl.ObjectType]reflect.Type{
	acl.Domain:          reflect.TypeFor[proto.RemoteNonnullDomain](),
	acl.Network:         reflect.TypeFor[proto.RemoteNonnullNetwork](),
	acl.NetworkPort:     reflect.TypeFor[proto.RemoteNonnullNetworkPort](),
	acl.StoragePool:     reflect.TypeFor[proto.RemoteNonnullStoragePool](),
	acl.StorageVol:      reflect.TypeFor[proto.RemoteNonnullStorageVol](),
	acl.NWFilter:        reflect.TypeFor[proto.RemoteNonnullNwfilter](),
	acl.NWFilterBinding: reflect.TypeFor[proto.RemoteNonnullNwfilterBinding](),
	acl.Secret:          reflect.TypeFor[proto.RemoteNonnullSecret](),
	acl.Interface:       reflect.TypeFor[proto.RemoteNonnullInterface](),
	acl.NodeDevice:      reflect.TypeFor[proto.RemoteNonnullNodeDevice](),
}

// fieldsOf returns the fields of msg (a pointer to a generated struct)
// of type want: its own fields, or if it has none, those of its struct
// fields (a snapshot or checkpoint carries its domain inside).
func fieldsOf(msg proto.Message, want reflect.Type) []any {
	v := reflect.ValueOf(msg)
	if want == nil || v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	v = v.Elem()
	var direct, nested []any
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Type() == want:
			direct = append(direct, f.Interface())
		case f.Kind() == reflect.Struct:
			for j := range f.NumField() {
				if g := f.Field(j); g.Type() == want {
					nested = append(nested, g.Interface())
				}
			}
		}
	}
	if len(direct) > 0 {
		return direct
	}
	return nested
}

// nodeDeviceNameArg returns the device name node device calls carry as
// a plain string (remote_node_device_*_args { name; ... }).
func nodeDeviceNameArg(args proto.Message) (string, bool) {
	v := reflect.ValueOf(args)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct ||
		!strings.HasPrefix(v.Elem().Type().Name(), "RemoteNodeDevice") {
		return "", false
	}
	f := v.Elem().FieldByName("Name")
	if !f.IsValid() || f.Kind() != reflect.String {
		return "", false
	}
	return f.String(), true
}

// flagsOf returns a call's flags argument, if it has one.
func flagsOf(args proto.Message) (uint32, bool) {
	v := reflect.ValueOf(args)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return 0, false
	}
	f := v.Elem().FieldByName("Flags")
	if !f.IsValid() || f.Kind() != reflect.Uint32 {
		return 0, false
	}
	return uint32(f.Uint()), true
}

func uuidString(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
