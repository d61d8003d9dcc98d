// SPDX-License-Identifier: Apache-2.0

package authcache

import (
	"context"
	"strconv"
	"testing"
	"time"
)

func TestDriversInterned(t *testing.T) {
	var d drivers
	for i := range maxDrivers {
		name := "driver-" + strconv.Itoa(i)
		got, ok := d.index(name)
		if !ok || int(got) != i || d.name(got) != name {
			t.Fatalf("index(%q) = %d, %v; want %d", name, got, ok, i)
		}
	}
	if again, ok := d.index("driver-7"); !ok || again != 7 {
		t.Errorf("a known name got %d, %v; want its index 7", again, ok)
	}
	if _, ok := d.index("one-too-many"); ok {
		t.Error("a name past the table's size was given an index")
	}
}

// A decision whose driver name cannot be kept is not cached, rather than
// served under another driver's name.
func TestDecisionOfUnknownDriverNotCached(t *testing.T) {
	c, err := New(Options{Size: 10, AllowTTL: time.Hour, DenyTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxDrivers {
		c.drivers.index("driver-" + strconv.Itoa(i))
	}
	k := NewKey(1000, domain(t, "demo", uuid1), perm(t, "start"))
	decide := func() (Decision, error) { return Decision{Allowed: true, Driver: "late"}, nil }
	for range 2 {
		if d, cached, err := lookupOrDecide(context.Background(), c, k, decide); err != nil || cached || d.Driver != "late" {
			t.Fatalf("Do: %+v, cached %v, %v; want late's answer, not cached", d, cached, err)
		}
	}
}
