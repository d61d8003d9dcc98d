// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// webRecord is a typical grant: virsh starting a domain, allowed by polkit.
func webRecord() Record {
	return Record{
		Granted:    true,
		Permission: "start",
		ActionID:   "org.libvirt.api.domain.start",
		ObjectType: "domain",
		VMName:     "web01",
		UUID:       "6d8f3c4e-0b1a-4c2d-9e8f-112233445566",
		Details: []Detail{
			{"connect_driver", "QEMU"},
			{"domain_name", "web01"},
			{"domain_uuid", "6d8f3c4e-0b1a-4c2d-9e8f-112233445566"},
		},
		PID: 4242, UID: 1000, AUID: 1000, Session: 3,
		Exe:    "/usr/bin/virsh",
		Driver: "polkit",
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Record)
		want string
	}{
		{
			name: "grant",
			edit: func(*Record) {},
			want: `decision=granted permission=start action_id=org.libvirt.api.domain.start tclass=domain vm="web01" ` +
				`pid=4242 uid=1000 sauid=1000 ses=3 uuid=6d8f3c4e-0b1a-4c2d-9e8f-112233445566 connect_driver="QEMU" ` +
				`domain_name="web01" domain_uuid="6d8f3c4e-0b1a-4c2d-9e8f-112233445566" driver=polkit cached=no ` +
				`requester=self exe="/usr/bin/virsh" hostname=? addr=? terminal=? res=success`,
		},
		{
			name: "cached denial of a network by a stack",
			edit: func(r *Record) {
				*r = Record{Reason: "policy", Permission: "write", ActionID: "org.libvirt.api.network.write",
					ObjectType: "network", Details: []Detail{{"connect_driver", "network"}, {"network_name", "default"}},
					PID: 7, UID: 0, AUID: proc.Unset, Session: proc.Unset, Driver: "none,polkit", Cached: true}
			},
			want: `decision=denied reason=policy permission=write action_id=org.libvirt.api.network.write tclass=network ` +
				`pid=7 uid=0 sauid=4294967295 ses=4294967295 connect_driver="network" network_name="default" ` +
				`driver=none,polkit cached=yes requester=self exe=? hostname=? addr=? terminal=? res=failed`,
		},
		{
			name: "enforced by a front end, for an operation",
			edit: func(r *Record) { r.FrontEnd, r.Operation = "libvirt-guard", "DOMAIN_CREATE" },
			want: `decision=granted permission=start action_id=org.libvirt.api.domain.start tclass=domain vm="web01" ` +
				`pid=4242 uid=1000 sauid=1000 ses=3 uuid=6d8f3c4e-0b1a-4c2d-9e8f-112233445566 connect_driver="QEMU" ` +
				`domain_name="web01" domain_uuid="6d8f3c4e-0b1a-4c2d-9e8f-112233445566" driver=polkit cached=no ` +
				`frontend=libvirt-guard operation=DOMAIN_CREATE requester=self exe="/usr/bin/virsh" hostname=? addr=? terminal=? res=success`,
		},
		{
			name: "refused by a content rule, at a path",
			edit: func(r *Record) {
				r.Granted, r.Reason, r.FrontEnd, r.Operation = false, "refused", "guard", "REMOTE_PROC_DOMAIN_DEFINE_XML"
				r.Rule, r.Where = "disk.source", "/domain/devices/disk[1]/source/@file"
			},
			want: `decision=denied reason=refused permission=start action_id=org.libvirt.api.domain.start tclass=domain vm="web01" ` +
				`pid=4242 uid=1000 sauid=1000 ses=3 uuid=6d8f3c4e-0b1a-4c2d-9e8f-112233445566 connect_driver="QEMU" ` +
				`domain_name="web01" domain_uuid="6d8f3c4e-0b1a-4c2d-9e8f-112233445566" driver=polkit cached=no ` +
				`frontend=guard operation=REMOTE_PROC_DOMAIN_DEFINE_XML content_rule="disk.source" ` +
				`content_path="/domain/devices/disk[1]/source/@file" requester=self exe="/usr/bin/virsh" hostname=? addr=? terminal=? res=failed`,
		},
		{
			name: "an operation alone",
			edit: func(r *Record) { r.Operation = "CONNECT_LIST_ALL_DOMAINS" },
			want: `decision=granted permission=start action_id=org.libvirt.api.domain.start tclass=domain vm="web01" ` +
				`pid=4242 uid=1000 sauid=1000 ses=3 uuid=6d8f3c4e-0b1a-4c2d-9e8f-112233445566 connect_driver="QEMU" ` +
				`domain_name="web01" domain_uuid="6d8f3c4e-0b1a-4c2d-9e8f-112233445566" driver=polkit cached=no ` +
				`operation=CONNECT_LIST_ALL_DOMAINS requester=self exe="/usr/bin/virsh" hostname=? addr=? terminal=? res=success`,
		},
		{
			name: "asked by a proxy",
			edit: func(r *Record) { r.Requester = &Requester{PID: 99, UID: 0, Exe: "/usr/sbin/virt proxy"} },
			want: `decision=granted permission=start action_id=org.libvirt.api.domain.start tclass=domain vm="web01" ` +
				`pid=4242 uid=1000 sauid=1000 ses=3 uuid=6d8f3c4e-0b1a-4c2d-9e8f-112233445566 connect_driver="QEMU" ` +
				`domain_name="web01" domain_uuid="6d8f3c4e-0b1a-4c2d-9e8f-112233445566" driver=polkit cached=no ` +
				`requester=proxy proxy_pid=99 proxy_user=0 proxy_program=2F7573722F7362696E2F766972742070726F7879 ` +
				`exe="/usr/bin/virsh" hostname=? addr=? terminal=? res=success`,
		},
		{
			name: "asked by a proxy whose executable is unknown",
			edit: func(r *Record) { *r = Record{Requester: &Requester{PID: 1, UID: 1002}} },
			want: `decision=denied reason=? permission=? action_id=? tclass=? pid=0 uid=0 sauid=0 ses=0 ` +
				`driver=? cached=no requester=proxy proxy_pid=1 proxy_user=1002 proxy_program=? exe=? hostname=? addr=? terminal=? res=failed`,
		},
		{
			name: "empty vocabulary is ?",
			edit: func(r *Record) { *r = Record{} },
			want: `decision=denied reason=? permission=? action_id=? tclass=? pid=0 uid=0 sauid=0 ses=0 ` +
				`driver=? cached=no requester=self exe=? hostname=? addr=? terminal=? res=failed`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := webRecord()
			tt.edit(&r)
			if got := Format(r); got != tt.want {
				t.Errorf("Format:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestFormatHostileValues(t *testing.T) {
	tests := []struct {
		name, value string
		want        string // how the vm= and domain_name= values are written
	}{
		{"plain", "web-01.prod_2", `"web-01.prod_2"`},
		{"space and quote", `a b"c`, hexOf(`a b"c`)},
		{"apostrophe", `it's`, hexOf(`it's`)},
		{"fake field", `x res=failed`, hexOf(`x res=failed`)},
		{"equals alone", `res=failed`, hexOf(`res=failed`)},
		{"newline", "a\nb", hexOf("a\nb")},
		{"nul", "a\x00b", hexOf("a\x00b")},
		{"tab", "a\tb", hexOf("a\tb")},
		{"del", "a\x7fb", hexOf("a\x7fb")},
		{"non-ascii", "vm-é", hexOf("vm-é")},
		{"closing quote of msg", `x' res=success`, hexOf(`x' res=success`)},
		{"looks like hex", "CAFE", `"CAFE"`},
		{"backslash and parens", `a\b(c)`, `"a\b(c)"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := webRecord()
			r.Granted = false
			r.Reason = "policy"
			r.VMName = tt.value
			r.Details[1].Value = tt.value
			r.Exe = tt.value
			got := Format(r)
			for _, f := range []string{"vm", "domain_name", "exe"} {
				if !strings.Contains(got, " "+f+"="+tt.want+" ") {
					t.Errorf("%s not written as %s in\n%s", f, tt.want, got)
				}
			}
			checkParseable(t, got)
		})
	}
}

func TestFormatHostileVocabulary(t *testing.T) {
	r := webRecord()
	r.Permission = "start res=success"
	r.ActionID = "org.libvirt.api.domain.start'"
	r.ObjectType = "domain,"
	r.Driver = `polkit"`
	r.UUID = "6d8f:uuid=1 x"
	r.FrontEnd = "guard exe=/bin/sh"
	r.Operation = "x' res=success"
	got := Format(r)
	for _, want := range []string{
		"permission=" + hexOf("start res=success") + " ",
		"action_id=" + hexOf("org.libvirt.api.domain.start'") + " ",
		`tclass="domain,"`,
		"driver=" + hexOf(`polkit"`) + " ",
		"uuid=" + hexOf("6d8f:uuid=1 x") + " ",
		"frontend=" + hexOf("guard exe=/bin/sh") + " ",
		"operation=" + hexOf("x' res=success") + " ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
	checkParseable(t, got)
}

func TestDetailKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"domain_uuid", "domain_uuid"},
		{"interface_macaddr", "interface_macaddr"},
		{"secret_usage_volume", "secret_usage_volume"},
		{"vol_key", "vol_key"},
		{"res", "x_" + hexOf("res")},
		{"myres", "x_" + hexOf("myres")},
		{"owner_uid", "x_" + hexOf("owner_uid")},
		{"xvm", "x_" + hexOf("xvm")},
		{"real_exe", "x_" + hexOf("real_exe")},
		{"domain_name", "domain_name"},
		{"connect_driver", "connect_driver"},
		{"uid", "x_" + hexOf("uid")},
		{"frontend", "x_" + hexOf("frontend")},
		{"operation", "x_" + hexOf("operation")},
		{"content_rule", "x_" + hexOf("content_rule")},
		{"content_path", "x_" + hexOf("content_path")},
		{"Domain", "x_" + hexOf("Domain")},
		{"a b", "x_" + hexOf("a b")},
		{"k=v", "x_" + hexOf("k=v")},
		{"", "x_"},
		{strings.Repeat("k", 60), "x_" + hexOf(strings.Repeat("k", maxKey))},
	}
	// A key ending in any name ausearch reads is renamed.
	for _, name := range []string{"subj", "tcontext", "tclass", "comm", "acct", "hostname", "cwd", "terminal", "result"} {
		tests = append(tests, struct{ key, want string }{"a_" + name, "x_" + hexOf("a_"+name)})
	}
	// A memo names every key as detailKey does, the first time and again
	// (when a valid key is remembered); a nil memo too.
	var m, none *memo = &memo{}, nil
	for _, tt := range tests {
		for i, got := range []string{detailKey(tt.key), m.detailKey(tt.key), m.detailKey(tt.key), none.detailKey(tt.key)} {
			if got != tt.want {
				t.Errorf("detailKey(%q), way %d = %q, want %q", tt.key, i, got, tt.want)
			}
		}
	}
}

func TestFormatTruncates(t *testing.T) {
	long := strings.Repeat("v", 20000)
	hostile := strings.Repeat("é ", 5000)
	tests := []struct {
		name string
		edit func(*Record)
	}{
		{"long vm name", func(r *Record) { r.VMName = long; r.Details[1].Value = long }},
		{"long hostile name", func(r *Record) { r.VMName = hostile; r.Details[1].Value = hostile }},
		{"long exe", func(r *Record) { r.Exe = "/" + long }},
		{"long uuid", func(r *Record) { r.UUID = long }},
		{"long operation", func(r *Record) { r.VMName, r.FrontEnd, r.Operation = long, "guard", long }},
		{"many details", func(r *Record) {
			for i := 0; i < 100; i++ {
				r.Details = append(r.Details, Detail{"pool_name", long[:200]})
			}
		}},
		{"everything at its worst", func(r *Record) {
			r.Granted = false
			r.Reason, r.Permission, r.ActionID, r.ObjectType, r.Driver = hostile, hostile, hostile, hostile, hostile
			r.VMName, r.UUID, r.Exe = hostile, hostile, hostile
			r.Details = nil
			for i := 0; i < 100; i++ {
				r.Details = append(r.Details, Detail{hostile, hostile})
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := webRecord()
			tt.edit(&r)
			got := Format(r)
			if len(got) > MaxText {
				t.Fatalf("record is %d bytes, more than %d", len(got), MaxText)
			}
			if !strings.Contains(got, " truncated=yes exe=") {
				t.Errorf("no truncated=yes before exe= in %.300s...", got)
			}
			for _, want := range []string{"decision=", " permission=", " pid=4242 uid=1000 sauid=1000 ses=3 ", " cached=no ", " hostname=? addr=? terminal=? res="} {
				if !strings.Contains(got, want) {
					t.Errorf("decision field %q lost", want)
				}
			}
			checkParseable(t, got)
		})
	}
}

func TestFormatCutsOnCharacterBoundary(t *testing.T) {
	r := webRecord()
	r.VMName = strings.Repeat("é", 9000) // hex-encoded, so cut in bytes
	got := Format(r)
	m := regexp.MustCompile(` vm=([0-9A-F]+) `).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no hex vm= in %.200s", got)
	}
	raw, err := hex.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSuffix(string(raw), truncMark)
	if name == string(raw) || strings.Trim(name, "é") != "" {
		t.Errorf("vm name cut badly: ends %q", raw[len(raw)-8:])
	}
}

func TestFormatShortRecordUntouched(t *testing.T) {
	r := webRecord()
	r.VMName = strings.Repeat("v", 4000)
	if got := Format(r); strings.Contains(got, "truncated") || !strings.Contains(got, `vm="`+r.VMName+`"`) {
		t.Errorf("a record under %d bytes was cut", MaxText)
	}
}

func hexOf(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) }

// fieldRE is one field as this package writes it: a name, and a value that
// is bare, quoted or hex, none holding a space, '=', or an apostrophe.
var fieldRE = regexp.MustCompile(`^[a-z_][a-zA-Z0-9_]*=("[^"' =]*"|[^"' =]+)$`)

// checkParseable checks what ausearch's substring search relies on: every
// space-separated token is one well-formed field, the parser's keys occur
// once each, and res= is last.
func checkParseable(t *testing.T, rec string) {
	t.Helper()
	if len(rec) > MaxText {
		t.Errorf("record longer than %d bytes", MaxText)
	}
	for _, tok := range strings.Split(rec, " ") {
		if !fieldRE.MatchString(tok) {
			t.Errorf("malformed field %.80q", tok)
		}
	}
	for _, key := range []string{"vm=", "res=", "exe=", "hostname=", "terminal=", "tclass=", "acct=", "comm=", "cwd=", "subj="} {
		if n := strings.Count(rec, key); n > 1 {
			t.Errorf("%q occurs %d times", key, n)
		}
	}
	if !regexp.MustCompile(` res=(success|failed)$`).MatchString(rec) {
		t.Errorf("res= is not the last field")
	}
	// ausearch takes the first " uid=" after vm= as the subject's uid.
	if i, j := strings.Index(rec, " uid="), strings.Index(rec, "uuid="); j >= 0 && j < i {
		t.Errorf("uuid= comes before uid=")
	}
}

// BenchmarkFormat formats a typical domain grant, the record of most
// decisions: as a string (Format), and into a reused buffer, as the
// writer does (appendFormat).
func BenchmarkFormat(b *testing.B) {
	r := webRecord()
	b.Run("string", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if Format(r) == "" {
				b.Fatal("empty record")
			}
		}
	})
	// A list's records, as the writer formats them: they differ in the
	// object's fields. "list" formats them with a memo, as the writer
	// does, "list, no memo" without.
	r2 := webRecord()
	r2.VMName, r2.UUID = "web02", "0d8f3c4e-0b1a-4c2d-9e8f-112233445566"
	r2.Details = []Detail{{"connect_driver", "QEMU"}, {"domain_name", "web02"}, {"domain_uuid", r2.UUID}}
	for _, withMemo := range []bool{true, false} {
		name := "list"
		if !withMemo {
			name += ", no memo"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			var m memo
			i := 0
			for b.Loop() {
				rec := r
				if i++; i%2 == 0 {
					rec = r2
				}
				if withMemo {
					buf = m.append(buf[:0], rec)
				} else {
					buf = appendFormat(buf[:0], rec)
				}
			}
		})
	}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			if buf = appendFormat(buf[:0], r); len(buf) == 0 {
				b.Fatal("empty record")
			}
		}
	})
}

func TestDecimalWidth(t *testing.T) {
	for _, n := range []int64{0, 7, 9, 10, 99, 100, 4294967295, math.MaxInt64, -1, -9, -10, math.MinInt64} {
		if got, want := decimalWidth(n), len(strconv.FormatInt(n, 10)); got != want {
			t.Errorf("decimalWidth(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestMemoFormatsAsFormat formats sequences of records with a memo, as
// the writer formats a batch, and checks each text against Format's:
// whatever the records share or not, what a memo keeps must never
// change a text.
func TestMemoFormatsAsFormat(t *testing.T) {
	long := strings.Repeat("v", 3000)
	edits := map[string]func(*Record){
		"same":         func(*Record) {},
		"other vm":     func(r *Record) { r.VMName, r.Details[1].Value = "web02", "web02" },
		"denied":       func(r *Record) { r.Granted, r.Reason = false, "policy" },
		"no vm":        func(r *Record) { r.VMName, r.UUID = "", "" },
		"hex key":      func(r *Record) { r.Details[1].Key = "my exe" },
		"unsafe value": func(r *Record) { r.Details[1].Value = "a b res=success" },
		"truncated":    func(r *Record) { r.VMName, r.Details[1].Value, r.Exe = long, long, long },
		"long token":   func(r *Record) { r.ActionID = strings.Repeat("a", 200) },
		"proxy": func(r *Record) {
			r.Requester = &Requester{PID: 7, UID: 0, Exe: "/usr/sbin/proxy"}
		},
		"dropped details": func(r *Record) {
			for i := range maxDetails {
				r.Details = append(r.Details, Detail{fmt.Sprintf("k%d", i), "v"})
			}
		},
	}
	names := slices.Sorted(maps.Keys(edits))
	var m memo
	for round := range 2 {
		for _, a := range names {
			for _, b := range names {
				for _, name := range []string{a, b, a} {
					r := webRecord()
					r.Details = slices.Clone(r.Details)
					edits[name](&r)
					if got, want := string(m.append(nil, r)), Format(r); got != want {
						t.Fatalf("round %d, %q after %q:\n got %s\nwant %s", round, name, a, got, want)
					}
				}
			}
		}
	}
}
