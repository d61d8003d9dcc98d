// SPDX-License-Identifier: Apache-2.0

package access

import (
	"context"
	"errors"
	"sync"
	"testing"
)

type auditLog struct {
	mu   sync.Mutex
	recs []Request
	decs []Decision
}

func (a *auditLog) Audit(_ context.Context, r Request, d Decision) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs, a.decs = append(a.recs, r), append(a.decs, d)
	return nil
}

func TestRefuse(t *testing.T) {
	log := &auditLog{}
	e, err := New(Options{Drivers: []Driver{None{}}, Auditor: log})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cause := errors.New("undecodable call")
	r := Request{Subject: subject, Origin: Origin{FrontEnd: "guard", Operation: "REMOTE_PROC_X"}}
	d := e.Refuse(context.Background(), r, cause)
	if d.Allowed || d.Reason != Refused || !errors.Is(d.Err, cause) || d.Driver != "guard" {
		t.Errorf("Refuse = %+v", d)
	}
	if len(log.recs) != 1 || log.decs[0].Reason != Refused {
		t.Fatalf("audited %+v", log.decs)
	}
	rec := AuditRecord(log.recs[0], log.decs[0])
	if rec.Granted || rec.Reason != "refused" || rec.Permission != "" || rec.ObjectType != "" || rec.Operation != "REMOTE_PROC_X" {
		t.Errorf("record %+v", rec)
	}
	if s := e.Stats(); s.Denied != 1 {
		t.Errorf("denied count %d, want 1", s.Denied)
	}
	// No subject: nothing to audit, still a denial.
	if d := e.Refuse(context.Background(), Request{}, cause); d.Allowed || len(log.recs) != 1 {
		t.Errorf("Refuse without subject = %+v, %d records", d, len(log.recs))
	}
}
