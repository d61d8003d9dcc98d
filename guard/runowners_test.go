// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/config"
)

// TestStartOwners: create-own is off unless set, and never without an
// XML content policy. (On, with one, it dials the system bus: the
// integration test TestGuardCreateOwn builds its Owners itself.)
func TestStartOwners(t *testing.T) {
	tests := []struct {
		name      string
		createOwn bool
		policy    string
		wantErr   string
	}{
		{"off", false, "", ""},
		{"off with a policy", false, config.DefaultXMLPolicy, ""},
		{"on without a policy", true, "", "needs an XML content policy"},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, stop, err := startOwners(context.Background(), config.Config{GuardCreateOwn: tt.createOwn, XMLPolicy: tt.policy}, log)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || o != nil {
				t.Fatalf("startOwners = %v, %v; want off", o, err)
			}
			stop()
		})
	}
}
