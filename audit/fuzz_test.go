// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// FuzzFormat builds records from values a client chooses (object names,
// UUIDs, detail keys and values, the driver name it sends) and checks what
// an auditor's parser relies on: the text fits the kernel's limit, is
// printable ASCII, splits on spaces into name=value fields, names the
// subject's uid= and exe= once each, and ends in the one res= that matches
// the decision. A value that could fake a field must not get through.
func FuzzFormat(f *testing.F) {
	f.Add(true, "", "vm", "6695eb01-f6a4-8304-79aa-97f2502e193f", "domain_name", "vm", "QEMU", "/usr/bin/virsh")
	f.Add(false, "policy", "a b res=success", "uid=0", "uid", "x\" res=success", "polkit", "")
	f.Add(false, "unavailable", "\x00\n", "\xff", "res", "'", "=", "exe= x")
	f.Add(true, "", strings.Repeat("é", 1500), strings.Repeat("u", 3000), "k", strings.Repeat("v", 3000), "none", "/x")
	f.Fuzz(func(t *testing.T, granted bool, reason, vm, uuid, key, value, driver, exe string) {
		r := Record{
			Granted: granted, Reason: reason, Permission: "start", ActionID: "org.libvirt.api.domain.start",
			ObjectType: "domain", VMName: vm, UUID: uuid,
			Details: []Detail{{"connect_driver", driver}, {key, value}, {value, key}},
			PID:     42, UID: 1000, AUID: proc.Unset, Session: proc.Unset, Exe: exe, Driver: driver,
			FrontEnd: driver, Operation: reason,
		}
		text := Format(r)
		checkRecordText(t, text, granted)
		// The writer's way: appended to the batch's earlier records.
		if got := appendFormat([]byte("earlier"), r); string(got) != "earlier"+text {
			t.Fatalf("appendFormat after other text = %q, want %q", got, "earlier"+text)
		}
		// And after records that share some of its fields (a list's).
		var m memo
		shared := webRecord()
		shared.Exe, shared.Driver, shared.Details[2].Value = exe, driver, value
		for i, rec := range []Record{shared, r, r, shared, r} {
			if got, want := string(m.append(nil, rec)), Format(rec); got != want {
				t.Fatalf("record %d after others = %q, want %q", i, got, want)
			}
		}
	})
}

func checkRecordText(t *testing.T, text string, granted bool) {
	t.Helper()
	if len(text) > MaxText {
		t.Fatalf("%d bytes, over MaxText", len(text))
	}
	for i := 0; i < len(text); i++ {
		if c := text[i]; c < 0x20 || c > 0x7e {
			t.Fatalf("byte %#x at %d in %q", c, i, text)
		}
	}
	fields := strings.Split(text, " ")
	count := map[string]int{}
	for _, fl := range fields {
		name, val, ok := strings.Cut(fl, "=")
		if !ok || name == "" || strings.ContainsAny(val, "=") && !strings.HasPrefix(val, `"`) {
			t.Fatalf("field %q is not name=value in %q", fl, text)
		}
		if strings.HasPrefix(val, `"`) && (len(val) < 2 || !strings.HasSuffix(val, `"`) || strings.Count(val, `"`) != 2) {
			t.Fatalf("badly quoted field %q in %q", fl, text)
		}
		count[name]++
	}
	want := "res=failed"
	if granted {
		want = "res=success"
	}
	if last := fields[len(fields)-1]; last != want || count["res"] != 1 {
		t.Fatalf("record ends %q with %d res= fields, want one %q: %q", last, count["res"], want, text)
	}
	if count["uid"] != 1 || count["exe"] != 1 || count["decision"] != 1 {
		t.Fatalf("uid=, exe= or decision= repeated or missing in %q", text)
	}
}
