// SPDX-License-Identifier: Apache-2.0

package listener

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// activatedEnv marks the test binary re-run as a socket-activated child by
// TestActivated; its value is the Names the child serves.
const activatedEnv = "VIRT_ACL_HELPER_TEST_ACTIVATED"

// The daemon's and the guard's sockets, as "served,served/lone".
const (
	daemonNames = "varlink/varlink"
	guardNames  = "libvirt,libvirt-ro/libvirt"
)

// TestActivated passes listening sockets to a child process as systemd
// does (LISTEN_FDS, LISTEN_FDNAMES, descriptors from 3) and checks which
// sockets the child serves them as and which it refuses.
func TestActivated(t *testing.T) {
	if names := os.Getenv(activatedEnv); names != "" {
		activatedChild(names)
		return
	}
	tests := []struct {
		name    string
		serves  string // Names as "served,served/lone"
		fds     int
		names   string // LISTEN_FDNAMES; "-" leaves it unset
		want    string // the child's report, or the start of its error
		wantErr bool
	}{
		{"one unnamed (systemd-socket-activate -l)", daemonNames, 1, "-", "varlink:1", false},
		{"one named varlink", daemonNames, 1, "varlink", "varlink:1", false},
		{"one with the socket unit's default name", daemonNames, 1, "virt-acl-helper.socket", "varlink:1", false},
		{"two named varlink", daemonNames, 2, "varlink:varlink", "varlink:2", false},
		{"one named for another front end", daemonNames, 1, "libvirt", `socket activation passed descriptor 3 named "libvirt", which no front end serves; want FileDescriptorName=varlink`, true},
		{"two, one unnamed", daemonNames, 2, "varlink:", "socket activation passed 2 descriptors and descriptor 4 has no name", true},
		{"two unnamed", daemonNames, 2, "-", "socket activation passed 2 descriptors and descriptor 3 has no name", true},
		{"guard: read-write and read-only", guardNames, 2, "libvirt:libvirt-ro", "libvirt-ro:1,libvirt:1", false},
		{"guard: read-only only", guardNames, 1, "libvirt-ro", "libvirt-ro:1", false},
		{"guard: one unnamed is read-write", guardNames, 1, "-", "libvirt:1", false},
		{"guard: the unit's default name is read-write", guardNames, 1, "virt-acl-helper-guard.socket", "libvirt:1", false},
		{"guard: two unnamed", guardNames, 2, "virt-acl-helper-guard.socket:virt-acl-helper-guard.socket", "socket activation passed 2 descriptors and descriptor 3 has no name", true},
		{"guard: the daemon's socket", guardNames, 1, "varlink", `socket activation passed descriptor 3 named "varlink", which no front end serves; want FileDescriptorName=libvirt or libvirt-ro`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestActivated$")
			cmd.Env = append(os.Environ(), activatedEnv+"="+tt.serves, "LISTEN_FDS="+strconv.Itoa(tt.fds))
			if tt.names != "-" {
				cmd.Env = append(cmd.Env, "LISTEN_FDNAMES="+tt.names)
			}
			for i := range tt.fds {
				cmd.ExtraFiles = append(cmd.ExtraFiles, testsys.ListenerFile(t, filepath.Join(t.TempDir(), fmt.Sprintf("s%d.sock", i))))
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			report, _, _ := strings.Cut(string(out), "\n")
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
// must name the process that takes them) and prints on its first line
// what Activated made of them, sorted by name.
func activatedChild(serves string) {
	served, lone, _ := strings.Cut(serves, "/")
	os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	ls, err := Activated(Names{Served: strings.Split(served, ","), Lone: lone})
	if err != nil {
		fmt.Printf("error: %v\n", err)
		return
	}
	var groups []string
	for name, group := range ls {
		groups = append(groups, fmt.Sprintf("%s:%d", name, len(group)))
		CloseAll(group)
	}
	slices.Sort(groups)
	fmt.Println(strings.Join(groups, ","))
}

func TestListen(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // leaves a socket file nobody serves

	live := filepath.Join(dir, "live.sock")
	other, err := Listen(live)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	regular := filepath.Join(dir, "file")
	os.WriteFile(regular, nil, 0o600)

	tests := []struct {
		name, path, wantErr string
	}{
		{"stale socket replaced", stale, ""},
		{"served socket kept", live, "another daemon"},
		{"regular file kept", regular, "not a socket"},
		{"new directory", filepath.Join(dir, "sub", "s.sock"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Listen(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if fi, err := os.Stat(tt.path); err != nil || fi.Mode().Perm() != 0o666 {
				t.Errorf("socket mode %v, %v; want 0666", fi.Mode(), err)
			}
		})
	}
}
