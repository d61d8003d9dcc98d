// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"bytes"
	"fmt"
	"os"
)

// procState describes what process pid is doing, for the message of a
// daemon that did not become ready: its state and the kernel function it
// waits in.
func procState(pid int) string {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "gone"
	}
	state := "unknown"
	for _, line := range bytes.Split(status, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("State:")); ok {
			state = string(bytes.TrimSpace(v))
		}
	}
	wchan, _ := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", pid))
	return fmt.Sprintf("state %s, waiting in %q", state, wchan)
}
