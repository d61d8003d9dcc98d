// SPDX-License-Identifier: Apache-2.0

package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/internal/xdr"
)

// wire builds XDR by hand, independently of the generated encoders.
type wire struct{ bytes.Buffer }

func (w *wire) u32(v uint32) *wire { binary.Write(&w.Buffer, binary.BigEndian, v); return w }

func (w *wire) str(s string) *wire {
	w.u32(uint32(len(s)))
	w.WriteString(s)
	w.Write(make([]byte, (4-len(s)%4)%4))
	return w
}

var testUUID = [16]byte{0xc7, 0xa5, 0xfd, 0xbd, 0xed, 0xaf, 0x9e, 0x45, 0x5e, 0xa7, 0x25, 0x0b, 0xd7, 0xe1, 0x6f, 0x6a}

func (w *wire) dom(name string, id int32) *wire {
	w.str(name)
	w.Write(testUUID[:])
	return w.u32(uint32(id))
}

func testDom() RemoteNonnullDomain { return RemoteNonnullDomain{Name: "vm1", UUID: testUUID, ID: -1} }

func strp(s string) *string { return &s }

func lookup(t *testing.T, prog Program, num int32, name string) *Procedure {
	t.Helper()
	p, ok := mustTable(t).Lookup(prog, num)
	if !ok || p.Name() != name {
		t.Fatalf("%s %d: got %v, want %s", prog, num, p, name)
	}
	return p
}

// TestRoundTrips decodes hand-built call bodies of the procedures seen in
// virsh's traffic, compares with the expected values and re-encodes.
func TestRoundTrips(t *testing.T) {
	tests := []struct {
		num  int32
		name string
		wire *wire
		want Message
	}{
		{23, "REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME", new(wire).str("vm1"), &RemoteDomainLookupByNameArgs{Name: "vm1"}},
		{9, "REMOTE_PROC_DOMAIN_CREATE", new(wire).dom("vm1", -1), &RemoteDomainCreateArgs{Dom: testDom()}},
		{212, "REMOTE_PROC_DOMAIN_GET_STATE", new(wire).dom("vm1", -1).u32(0),
			&RemoteDomainGetStateArgs{Dom: testDom()}},
		{273, "REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS", new(wire).u32(1).u32(3),
			&RemoteConnectListAllDomainsArgs{NeedResults: 1, Flags: 3}},
		{201, "REMOTE_PROC_DOMAIN_OPEN_CONSOLE", new(wire).dom("vm1", -1).u32(1).str("serial0").u32(2),
			&RemoteDomainOpenConsoleArgs{Dom: testDom(), DevName: strp("serial0"), Flags: 2}},
		{201, "REMOTE_PROC_DOMAIN_OPEN_CONSOLE", new(wire).dom("vm1", -1).u32(0).u32(0),
			&RemoteDomainOpenConsoleArgs{Dom: testDom()}},
		{14, "REMOTE_PROC_DOMAIN_GET_XML_DESC", new(wire).dom("vm1", -1).u32(1),
			&RemoteDomainGetXMLDescArgs{Dom: testDom(), Flags: 1}},
		{1, "REMOTE_PROC_CONNECT_OPEN", new(wire).u32(1).str("qemu:///system").u32(0),
			&RemoteConnectOpenArgs{Name: strp("qemu:///system")}},
		{2, "REMOTE_PROC_CONNECT_CLOSE", new(wire), &Void{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := lookup(t, Remote, tt.num, tt.name)
			in := tt.wire.Bytes()
			got, err := p.DecodeArgs(in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("decoded %+v, want %+v", got, tt.want)
			}
			out, err := Marshal(got)
			if err != nil || !bytes.Equal(out, in) {
				t.Errorf("re-encoded % x, %v; want % x", out, err, in)
			}
		})
	}
}

func TestReplyRoundTrips(t *testing.T) {
	lookupRet := new(wire).dom("vm1", 3).Bytes()
	stateRet := new(wire).u32(1).u32(5).Bytes()
	listRet := new(wire).u32(2).dom("a", 1).dom("bb", -1).u32(2).Bytes()
	for _, tt := range []struct {
		num  int32
		body []byte
	}{{23, lookupRet}, {212, stateRet}, {273, listRet}} {
		p, _ := mustTable(t).Lookup(Remote, tt.num)
		m, err := p.DecodeRet(tt.body)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if out, err := Marshal(m); err != nil || !bytes.Equal(out, tt.body) {
			t.Errorf("%s: re-encoded % x, %v", p, out, err)
		}
	}
	p, _ := mustTable(t).Lookup(Remote, 273)
	m, _ := p.DecodeRet(listRet)
	if r := m.(*RemoteConnectListAllDomainsRet); len(r.Domains) != 2 || r.Domains[1].Name != "bb" || r.Ret != 2 {
		t.Errorf("list: %+v", r)
	}
}

func TestTypedParams(t *testing.T) {
	// remote_domain_set_memory_parameters_args: dom, params<>, flags.
	sp := lookup(t, Remote, 197, "REMOTE_PROC_DOMAIN_SET_MEMORY_PARAMETERS")
	in := new(wire).dom("vm1", -1).u32(3).
		str("a").u32(VirTypedParamUllong).u32(1).u32(2).
		str("b").u32(VirTypedParamString).str("x").
		str("c").u32(VirTypedParamDouble).u32(0x3ff00000).u32(0).
		u32(0).Bytes()
	m, err := sp.DecodeArgs(in)
	if err != nil {
		t.Fatalf("%s: %v", sp, err)
	}
	params := m.(*RemoteDomainSetMemoryParametersArgs).Params
	if len(params) != 3 || params[0].Value.Ul != 1<<32|2 || params[1].Value.S != "x" || params[2].Value.D != 1 {
		t.Errorf("params %+v", params)
	}
	if out, err := Marshal(m); err != nil || !bytes.Equal(out, in) {
		t.Errorf("re-encoded % x, %v", out, err)
	}
	bad := new(wire).dom("vm1", -1).u32(1).str("a").u32(99).u32(0).u32(0).Bytes()
	_, err = sp.DecodeArgs(bad)
	if !errors.Is(err, xdr.ErrDiscriminant) || !strings.Contains(err.Error(), "params[0].value.type") {
		t.Errorf("unknown discriminant: %v", err)
	}
}

func TestStrictDecoding(t *testing.T) {
	tests := []struct {
		name  string
		num   int32
		body  []byte
		err   error
		field string
	}{
		{"leftover after flags", 14, append(new(wire).dom("vm1", -1).u32(1).Bytes(), 0, 0, 0, 0), xdr.ErrLeftover, ""},
		{"leftover after void", 2, []byte{0, 0, 0, 0}, xdr.ErrLeftover, ""},
		{"missing flags", 14, new(wire).dom("vm1", -1).Bytes(), xdr.ErrShort, "flags"},
		{"NUL in name", 23, new(wire).str("vm1\x00x").Bytes(), xdr.ErrNUL, "name"},
		{"NUL in domain name", 9, new(wire).dom("vm\x001", -1).Bytes(), xdr.ErrNUL, "dom.name"},
		{"name over REMOTE_STRING_MAX", 23, new(wire).u32(RemoteStringMax + 1).Bytes(), xdr.ErrTooLong, "name"},
		{"name longer than body", 23, new(wire).u32(1000).str("x").Bytes(), xdr.ErrTooLong, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := mustTable(t).Lookup(Remote, tt.num)
			_, err := p.DecodeArgs(tt.body)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if !strings.HasPrefix(err.Error(), p.Name()+" args: ") {
				t.Errorf("error %q does not name the procedure", err)
			}
			var fe *xdr.FieldError
			if tt.field != "" && (!errors.As(err, &fe) || fe.Path != tt.field) {
				t.Errorf("error %q does not name field %s", err, tt.field)
			}
		})
	}
}

func TestOversizeArrays(t *testing.T) {
	p, _ := mustTable(t).Lookup(Remote, 273)
	// A reply claiming REMOTE_DOMAIN_LIST_MAX+1 domains.
	_, err := p.DecodeRet(new(wire).u32(RemoteDomainListMax + 1).Bytes())
	if !errors.Is(err, xdr.ErrTooLong) {
		t.Errorf("over max: %v", err)
	}
	// A count within the maximum but more than the body can hold: no
	// allocation of 16384 domains for a 12-byte body.
	_, err = p.DecodeRet(new(wire).u32(RemoteDomainListMax).u32(0).u32(0).Bytes())
	if !errors.Is(err, xdr.ErrTooLong) || !strings.Contains(err.Error(), "domains") {
		t.Errorf("over body: %v", err)
	}
	body := new(wire).u32(RemoteDomainListMax).Bytes()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	p.DecodeRet(body)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<10 {
		t.Errorf("%d bytes allocated for a rejected count", n)
	}
}

func TestNonzeroMarkersAreTrue(t *testing.T) {
	p, _ := mustTable(t).Lookup(Remote, 201)
	in := new(wire).dom("vm1", -1).u32(0x01000000).str("serial0").u32(0).Bytes()
	m, err := p.DecodeArgs(in)
	if err != nil {
		t.Fatal(err)
	}
	if a := m.(*RemoteDomainOpenConsoleArgs); a.DevName == nil || *a.DevName != "serial0" {
		t.Errorf("dev_name %v", a.DevName)
	}
}

func TestRulesApply(t *testing.T) {
	tab := mustTable(t)
	xml, _ := tab.Lookup(Remote, 14)
	applied := func(p *Procedure, args Message) []string {
		var out []string
		for _, r := range p.Rules() {
			ok, err := r.Applies(args)
			if err != nil {
				t.Fatalf("%s: %v", r, err)
			}
			if ok {
				out = append(out, r.String())
			}
		}
		return out
	}
	if got := applied(xml, &RemoteDomainGetXMLDescArgs{Flags: 0}); !reflect.DeepEqual(got, []string{"domain:read"}) {
		t.Errorf("GET_XML_DESC flags 0: %v", got)
	}
	if got := applied(xml, &RemoteDomainGetXMLDescArgs{Flags: 1}); len(got) != 2 || got[1] != "domain:read_secure:VIR_DOMAIN_XML_SECURE" {
		t.Errorf("GET_XML_DESC secure: %v", got)
	}
	vcpus, _ := tab.Lookup(Remote, 199)
	for flags, want := range map[uint32]int{0: 2, 1: 1, 2: 2, 3: 2, 8: 3} {
		if got := applied(vcpus, &RemoteDomainSetVcpusFlagsArgs{Flags: flags}); len(got) != want {
			t.Errorf("SET_VCPUS_FLAGS flags %#x: %v", flags, got)
		}
	}
	addrs, _ := tab.Lookup(Remote, 353)
	if got := applied(addrs, &RemoteDomainInterfaceAddressesArgs{Source: 1}); len(got) != 2 {
		t.Errorf("INTERFACE_ADDRESSES agent: %v", got)
	}
	if got := applied(addrs, &RemoteDomainInterfaceAddressesArgs{Source: 0}); len(got) != 1 {
		t.Errorf("INTERFACE_ADDRESSES lease: %v", got)
	}
	if _, err := xml.Rules()[1].Applies(&RemoteDomainCreateArgs{}); err == nil {
		t.Error("rule applied to another procedure's arguments")
	}
}

func TestPermissionsAreACLs(t *testing.T) {
	tab := mustTable(t)
	list, _ := tab.Lookup(Remote, 273)
	wantRule, _ := acl.ParsePermission(acl.Connect, "search_domains")
	wantFilter, _ := acl.ParsePermission(acl.Domain, "getattr")
	if r := list.Rules(); len(r) != 1 || r[0].Permission() != wantRule || r[0].Conditional() {
		t.Errorf("273 rules %v", r)
	}
	if f := list.Filters(); len(f) != 1 || f[0] != wantFilter {
		t.Errorf("273 filters %v", f)
	}
	mon, ok := tab.Lookup(QEMU, 1)
	if !ok || mon.Name() != "QEMU_PROC_DOMAIN_MONITOR_COMMAND" || mon.Rules()[0].Permission().String() != "domain:write" {
		t.Errorf("QEMU 1: %v", mon)
	}
	ns, ok := tab.Lookup(LXC, 1)
	if !ok || ns.Rules()[0].Permission().String() != "domain:open_namespace" {
		t.Errorf("LXC 1: %v", ns)
	}
}

func TestProcedureMetadata(t *testing.T) {
	tab := mustTable(t)
	console, _ := tab.Lookup(Remote, 201)
	if console.Stream() != StreamRead {
		t.Errorf("OPEN_CONSOLE stream %v", console.Stream())
	}
	upload, _ := tab.Lookup(Remote, 208) // STORAGE_VOL_UPLOAD
	if upload.Stream() != StreamWrite || upload.SparseFlag() == 0 {
		t.Errorf("%s: stream %v sparse %#x", upload, upload.Stream(), upload.SparseFlag())
	}
	ev, _ := tab.Lookup(Remote, 107) // DOMAIN_EVENT_LIFECYCLE
	if !ev.Unchecked() {
		t.Errorf("%s is checked", ev)
	}
	if _, err := ev.DecodeMsg(new(wire).dom("vm1", 1).u32(0).u32(0).Bytes()); err != nil {
		t.Errorf("%s msg: %v", ev, err)
	}
	if _, err := console.DecodeMsg(nil); err == nil {
		t.Error("DecodeMsg on a call procedure succeeded")
	}
	if Remote.Version() != 1 || Remote.String() != "REMOTE_PROGRAM" || uint32(Remote) != 0x20008086 {
		t.Errorf("Remote: %v %d %#x", Remote, Remote.Version(), uint32(Remote))
	}
}
