// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"os"
	"os/exec"
	"testing"
)

// IntegrationEnv is the environment variable that marks a run in which every
// integration test must run; the project's test command sets it to 1.
const IntegrationEnv = "VIRT_ACL_HELPER_INTEGRATION"

// Integration reports whether integration tests are mandatory in this run.
func Integration() bool {
	return os.Getenv(IntegrationEnv) == "1"
}

// Need skips the test with the reason what when ok is false, or fails it
// under Integration(), so that CI never passes by skipping.
func Need(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if Integration() {
		t.Fatalf("integration test cannot run: %s (%s=1 makes this fatal)", what, IntegrationEnv)
	}
	t.Skipf("skipping: %s (set %s=1 to make this fatal)", what, IntegrationEnv)
}

// NeedRoot requires uid 0, which polkitd, useradd and setuid need.
func NeedRoot(t testing.TB) {
	t.Helper()
	Need(t, os.Geteuid() == 0, "needs root")
}

// NeedCommand requires the executable path (or a name found in PATH) and
// returns its full path.
func NeedCommand(t testing.TB, path string) string {
	t.Helper()
	full, err := exec.LookPath(path)
	Need(t, err == nil, path+" is not installed")
	return full
}
