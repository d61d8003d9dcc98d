// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/virt-acl-helper/virt-acl-helper/access"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/frame"
	"github.com/virt-acl-helper/virt-acl-helper/libvirt/proto"
)

// List filtering (@aclfilter; src/rpc/gendispatch.pl): a list reply keeps
// only the objects the client may use with the procedure's filter
// permission, decided in one engine CheckMany. Objects are built from
// libvirtd's own reply (its names and UUIDs), never from the client's
// call. Anything the guard cannot decide is left out, or the whole reply
// refused: an error is never an allow.

// filtersList reports whether p's replies are filtered lists (the event
// registrations filter their events instead).
func filtersList(p *proto.Procedure) bool {
	return len(p.Filters()) > 0 && !eventRegisterProcs[keyOf(p)]
}

// filterReply returns the reply handler of a filtered list call.
func (s *session) filterReply(c *checker, p *proto.Procedure, args proto.Message) func(*frame.Message, []int) {
	return func(r *frame.Message, fds []int) {
		closeFDs(fds)
		if r.Header.Status != frame.OK {
			s.forwardReply(r, nil)
			return
		}
		s.checkReply(func() { s.sendFiltered(c, p, args, r) })
	}
}

// sendFiltered filters libvirtd's reply r and sends the client what is
// left, re-encoded, or a refusal; nothing when the session's end cut its
// lookups or decisions short.
func (s *session) sendFiltered(c *checker, p *proto.Procedure, args proto.Message, r *frame.Message) {
	origin := originOf(p)
	perm := p.Filters()[0]
	ret, err := p.DecodeRet(r.Body)
	if err == nil {
		err = c.filterRet(s.ctx, p, perm, args, ret)
	}
	var body []byte
	if err == nil {
		body, err = proto.Marshal(ret)
	}
	if sessionEnded(s.ctx, err) {
		// Abandoned, unrecorded (filteraudit.go): nothing was refused
		// anyone, and no one is left to answer.
		s.release(r.Header.Serial)
		s.log.Debug("guard: list abandoned, the session ended", "operation", p.Name(), "err", err)
		return
	}
	if err != nil {
		// libvirtd's own error (to the guard's lookup) is what the client
		// gets, as libvirtd would have answered it.
		var re *RemoteError
		if errors.As(err, &re) {
			c.engine.Refuse(s.ctx, access.Request{Subject: c.subject, Permission: perm, Origin: origin}, err)
			s.replyError(r.Header, re.Body)
			return
		}
		s.replyError(r.Header, c.refuse(s.ctx, origin, perm, objNone, fmt.Errorf("filtering the list: %w", err)))
		return
	}
	s.forwardReply(&frame.Message{Header: r.Header, Body: body}, nil)
}

// filterRet filters ret, the result of p called with args, in place.
func (c *checker) filterRet(ctx context.Context, p *proto.Procedure, perm acl.Permission, args, ret proto.Message) error {
	if ol, ok := oldLists[keyOf(p)]; ok {
		return c.filterOld(ctx, p, perm, ol, args, ret)
	}
	list, ok := objectList(ret, nonnullType[perm.Object()])
	if !ok {
		return fmt.Errorf("%w: no %s list in %T", errUnsupported, perm.Object(), ret)
	}
	if needResults(args) == 0 {
		// Only a count was asked for: count what the client may list,
		// and pass no objects whatever libvirtd sent.
		n, err := c.countAll(ctx, p, perm, args)
		if err != nil {
			return err
		}
		list.keep(make([]bool, list.len()))
		return setCount(ret, n)
	}
	keep, err := c.allowed(ctx, p, perm, list.values())
	if err != nil {
		return err
	}
	list.keep(keep)
	return setCount(ret, list.len())
}

// countAll makes the list call p again on the lookup connection, with
// results, and counts the objects the client may list.
func (c *checker) countAll(ctx context.Context, p *proto.Procedure, perm acl.Permission, args proto.Message) (int, error) {
	withResults := reflect.New(reflect.TypeOf(args).Elem())
	withResults.Elem().Set(reflect.ValueOf(args).Elem())
	withResults.Elem().FieldByName("NeedResults").SetInt(1)
	ret := p.NewRet()
	if err := c.objects.up.call(ctx, proto.RemoteProcedure(p.Number()), withResults.Interface().(proto.Message), ret); err != nil {
		return 0, err
	}
	list, ok := objectList(ret, nonnullType[perm.Object()])
	if !ok {
		return 0, fmt.Errorf("%w: no %s list in %T", errUnsupported, perm.Object(), ret)
	}
	keep, err := c.allowed(ctx, p, perm, list.values())
	if err != nil {
		return 0, err
	}
	return countKept(keep), nil
}

// countKept counts the entries keep keeps.
func countKept(keep []bool) int {
	n := 0
	for _, k := range keep {
		if k {
			n++
		}
	}
	return n
}

// allowed decides perm on each of the objects libvirtd described in vals,
// in one CheckMany, and audits the list (filteraudit.go). An object the
// guard cannot identify is not allowed, and audited as left out
// (unidentified.go) once the list is decided: a list refused, or
// abandoned at the session's end, records no entry beside a list
// record it does not have.
func (c *checker) allowed(ctx context.Context, p *proto.Procedure, perm acl.Permission, vals []any) ([]bool, error) {
	keep := make([]bool, len(vals))
	objs := make([]acl.Object, 0, len(vals))
	idx := make([]int, 0, len(vals))
	var unknown []unidentified
	for i, v := range vals {
		obj, err := c.listObject(ctx, perm.Object(), v)
		if err != nil {
			if !leftOut(ctx, err) {
				return nil, err
			}
			unknown = append(unknown, unidentified{v, err})
			continue
		}
		objs = append(objs, obj)
		idx = append(idx, i)
	}
	if len(vals) == 0 {
		return keep, nil
	}
	var ds []access.Decision
	if len(objs) > 0 {
		var err error
		if ds, err = c.engine.CheckMany(ctx, c.subject, perm, objs, listOrigin(p)); err != nil {
			return nil, fmt.Errorf("deciding %d objects: %w", len(objs), err)
		}
	}
	for _, u := range unknown {
		if err := c.auditUnidentified(ctx, p, perm, u.entry, u.cause); err != nil {
			return nil, err
		}
	}
	shown := 0
	for j, d := range ds {
		keep[idx[j]] = d.Allowed
		if d.Allowed {
			shown++
		}
	}
	// At audit level required, a list whose record was not written is
	// refused, as any decision would be.
	if err := c.auditList(ctx, p, perm, len(vals), shown, ds); err != nil {
		return nil, err
	}
	return keep, nil
}

// leftOut reports whether a list entry the guard failed to identify with
// err is left out, the rest of the list standing, rather than the whole
// list refused (libvirtd's own errors, errListEntry) or abandoned (the
// session's end cut its lookup short: sendFiltered). An entry the guard
// cannot identify for a cause of its own is left out even when the
// session ended meanwhile: the list is then abandoned at its decision,
// or, with no object left to decide, recorded as a failure of its own.
func leftOut(ctx context.Context, err error) bool {
	var re *RemoteError
	return !errors.As(err, &re) && !errors.Is(err, errListEntry) && !sessionEnded(ctx, err)
}

// listObject builds the object of type t that one list entry names: a
// protocol object, or (node devices, whose name is all libvirt's access
// check uses) a bare name. A storage volume's pool is looked up once per
// list (objects.pool), a binding's XML once per binding.
func (c *checker) listObject(ctx context.Context, t acl.ObjectType, v any) (acl.Object, error) {
	switch v := v.(type) {
	case string:
		if t != acl.NodeDevice {
			return acl.Object{}, fmt.Errorf("%w: a bare name for a %s", errUnsupported, t)
		}
		return c.objects.object(acl.NodeDevice, map[string]string{"node_device_name": v})
	case proto.RemoteNonnullStorageVol:
		return c.listedVolume(ctx, v)
	case proto.RemoteNonnullNwfilterBinding:
		return c.listedBinding(ctx, v)
	}
	return c.objects.fromValue(ctx, v)
}

// needResults returns a ConnectListAll* call's need_results, or 1 for
// calls without one.
func needResults(args proto.Message) int64 {
	v := reflect.ValueOf(args)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return 1
	}
	f := v.Elem().FieldByName("NeedResults")
	if !f.IsValid() || f.Kind() != reflect.Int32 {
		return 1
	}
	return f.Int()
}

// setCount sets a ConnectListAll* result's count ("ret"), if it has one.
func setCount(ret proto.Message, n int) error {
	f := reflect.ValueOf(ret).Elem().FieldByName("Ret")
	if !f.IsValid() {
		return nil
	}
	if f.Kind() != reflect.Uint32 {
		return fmt.Errorf("%T: count of kind %s", ret, f.Kind())
	}
	f.SetUint(uint64(n))
	return nil
}

// entryList is the list field of a reply: its elements are the objects,
// or structs each holding one (a domain stats record holds its domain),
// or plain names or IDs (the old ConnectList* calls).
type entryList struct {
	v     reflect.Value // the slice, settable
	inner int           // -1: the elements are the entries; else the field of each element
}

// objectList finds ret's list of objects of type want (a nonnull type).
func objectList(ret proto.Message, want reflect.Type) (entryList, bool) {
	v := reflect.ValueOf(ret)
	if want == nil || v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return entryList{}, false
	}
	v = v.Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() != reflect.Slice {
			continue
		}
		elem := f.Type().Elem()
		if elem == want {
			return entryList{v: f, inner: -1}, true
		}
		if elem.Kind() != reflect.Struct {
			continue
		}
		for j := range elem.NumField() {
			if elem.Field(j).Type == want {
				return entryList{v: f, inner: j}, true
			}
		}
	}
	return entryList{}, false
}

// plainList finds ret's one list of names, UUID strings or IDs.
func plainList(ret proto.Message) (entryList, bool) {
	v := reflect.ValueOf(ret)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct || v.Elem().NumField() != 1 {
		return entryList{}, false
	}
	f := v.Elem().Field(0)
	if f.Kind() != reflect.Slice || (f.Type().Elem().Kind() != reflect.String && f.Type().Elem().Kind() != reflect.Int32) {
		return entryList{}, false
	}
	return entryList{v: f, inner: -1}, true
}

func (l entryList) len() int { return l.v.Len() }

// values returns the entries.
func (l entryList) values() []any {
	out := make([]any, l.v.Len())
	for i := range out {
		e := l.v.Index(i)
		if l.inner >= 0 {
			e = e.Field(l.inner)
		}
		out[i] = e.Interface()
	}
	return out
}

// keep leaves the elements whose keep is true, in their order.
func (l entryList) keep(keep []bool) {
	kept := reflect.MakeSlice(l.v.Type(), 0, l.v.Len())
	for i := range l.v.Len() {
		if keep[i] {
			kept = reflect.Append(kept, l.v.Index(i))
		}
	}
	l.v.Set(kept)
}
