// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
	"github.com/virt-acl-helper/virt-acl-helper/polkit"
)

// TestInstallUnderPolkitd installs a rendered rule with a real polkitd
// answering the probe, then a file polkitd cannot compile: the second is
// refused and the first put back.
func TestInstallUnderPolkitd(t *testing.T) {
	testsys.NeedRoot(t)
	bus := testsys.StartBus(t)
	testsys.StartPolkitd(t, bus)
	auth, err := polkit.Dial(context.Background(), polkit.Options{Address: bus.Address})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	// A name testsys's stale-rule cleanup knows.
	path := filepath.Join(testsys.RulesDir, fmt.Sprintf("50-vah-test-p%d-999998-roles.rules", os.Getpid()))
	t.Cleanup(func() { os.Remove(path) })
	in := Installer{Path: path, Prober: PolkitProber{Authority: auth}, Wait: testsys.PolkitAnswerTimeout}

	good := Render(testPolicy(t))
	if err := in.Install(context.Background(), good); err != nil {
		t.Fatalf("Install: %v", err)
	}
	in.Wait = 3 * time.Second
	broken := Rendered{Text: []byte("polkit.addRule(function(action, subject) {\n"), Digest: "broken"}
	err = in.Install(context.Background(), broken)
	if err == nil || !strings.Contains(err.Error(), "did not load") {
		t.Fatalf("Install of a broken file: %v, want a refusal", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(good.Text) {
		t.Errorf("after the refusal the file is:\n%.200s", got)
	}
	in.Wait = testsys.PolkitAnswerTimeout
	if err := in.confirm(context.Background(), good.Digest); err != nil {
		t.Errorf("polkitd does not run the restored file: %v", err)
	}
}
