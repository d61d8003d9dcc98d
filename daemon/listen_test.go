// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// activatedEnv marks the test binary re-run as a socket-activated child by
// TestActivatedNames.
const activatedEnv = "VIRT_ACL_HELPER_TEST_ACTIVATED"

// TestActivatedNames passes listening sockets to a child process as
// systemd does (LISTEN_FDS, LISTEN_FDNAMES, descriptors from 3) and checks
// which it serves as varlink sockets and which it refuses.
func TestActivatedNames(t *testing.T) {
	if os.Getenv(activatedEnv) == "1" {
		activatedChild()
		return
	}
	tests := []struct {
		name    string
		fds     int
		names   string // LISTEN_FDNAMES; "-" leaves it unset
		want    string // the child's report, or the start of its error
		wantErr bool
	}{
		{"one unnamed (systemd-socket-activate -l)", 1, "-", "varlink:1", false},
		{"one named varlink", 1, "varlink", "varlink:1", false},
		{"one with the socket unit's default name", 1, "virt-acl-helper.socket", "varlink:1", false},
		{"two named varlink", 2, "varlink:varlink", "varlink:2", false},
		{"one named for another front end", 1, "libvirt", `socket activation passed descriptor 3 named "libvirt", which no front end serves`, true},
		{"two, one unnamed", 2, "varlink:", "socket activation passed 2 descriptors and descriptor 4 has no name", true},
		{"two unnamed", 2, "-", "socket activation passed 2 descriptors and descriptor 3 has no name", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestActivatedNames$")
			cmd.Env = append(os.Environ(), activatedEnv+"=1", "LISTEN_FDS="+strconv.Itoa(tt.fds))
			if tt.names != "-" {
				cmd.Env = append(cmd.Env, "LISTEN_FDNAMES="+tt.names)
			}
			for i := range tt.fds {
				cmd.ExtraFiles = append(cmd.ExtraFiles, listenerFile(t, filepath.Join(t.TempDir(), fmt.Sprintf("s%d.sock", i))))
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			got := string(out)
			report, _, _ := strings.Cut(got, "\n")
			if tt.wantErr {
				if !strings.HasPrefix(report, "error: "+tt.want) {
					t.Errorf("child reported %q, want an error starting %q", report, tt.want)
				}
				return
			}
			if report != tt.want {
				t.Errorf("child reported %q, want %q", report, tt.want)
			}
		})
	}
}

// activatedChild runs in the child: it claims the descriptors (LISTEN_PID
// must name the process that takes them) and prints what activated made
// of them on the first line.
func activatedChild() {
	os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	ls, err := activated()
	if err != nil {
		fmt.Printf("error: %v\n", err)
		return
	}
	var groups []string
	for name, group := range ls {
		groups = append(groups, fmt.Sprintf("%s:%d", name, len(group)))
		closeAll(group)
	}
	fmt.Println(strings.Join(groups, ","))
}

// listenerFile listens on a UNIX socket at path and returns its
// descriptor, as systemd would pass it; it is closed at cleanup.
func listenerFile(t *testing.T, path string) *os.File {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	t.Cleanup(func() { f.Close() })
	return f
}
