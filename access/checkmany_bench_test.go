// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"fmt"
	"iter"
	"sync/atomic"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/audit"
)

// formatting audits as AuditTo's writer does at level 1, short of the
// kernel: each decision becomes its record's text. The writer's own part
// (the queue, the netlink socket) is measured in package audit.
type formatting struct{ bytes atomic.Int64 }

func (f *formatting) Audit(_ context.Context, r Request, d Decision) error {
	f.bytes.Add(int64(len(audit.Format(AuditRecord(r, d)))))
	return nil
}

// AuditMany builds the records of a list as AuditTo's does.
func (f *formatting) AuditMany(_ context.Context, decisions iter.Seq2[Request, Decision]) []error {
	b := recordBuilder{chunk: detailsChunk}
	for r, d := range decisions {
		f.bytes.Add(int64(len(audit.Format(b.record(r, d)))))
	}
	return nil
}

// BenchmarkCheckManyCached asks about 10,000 objects whose decisions are
// all cached, as a client filtering a list of VMs does: "audited" has
// every decision's record formatted (a request's origin), "listing" has
// none (a cached decision on a list is not audited again).
func BenchmarkCheckManyCached(b *testing.B) {
	const n = 10_000
	objs := make([]acl.Object, n)
	for i := range objs {
		objs[i] = domainObj(b, fmt.Sprintf("vm-%d", i), i)
	}
	getattr := permission(b, acl.Domain, "getattr")
	for _, tc := range []struct {
		name   string
		origin Origin
	}{
		{"audited", Origin{FrontEnd: "guard", Operation: "DOMAIN_GET_INFO"}},
		{"listing", Origin{FrontEnd: "guard", Operation: "CONNECT_LIST_ALL_DOMAINS", Listing: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			aud := &formatting{}
			e := newEngine(b, 2*n, aud, fixed("polkit", true, nil))
			if _, err := e.CheckMany(context.Background(), subject, getattr, objs, tc.origin); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				ds, err := e.CheckMany(context.Background(), subject, getattr, objs, tc.origin)
				if err != nil || !ds[n-1].Cached {
					b.Fatalf("CheckMany: %v, last %+v", err, ds[n-1])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/object")
		})
	}
}
