// SPDX-License-Identifier: Apache-2.0

package proc

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookupSelf(t *testing.T) {
	p, err := Lookup(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if p.UID != uint32(os.Geteuid()) || p.StartTime == 0 || p.NSDepth < 1 {
		t.Errorf("Lookup(self) = %+v", p)
	}
	exe, _ := os.Executable()
	if p.Exe != exe {
		t.Errorf("Exe = %q, want %q", p.Exe, exe)
	}
}

func TestLookupExitedProcess(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	_, err := Lookup(int32(cmd.Process.Pid))
	if !errors.Is(err, ErrNoProcess) {
		t.Errorf("err = %v, want ErrNoProcess", err)
	}
}

// fakeProc writes one process's files under a temporary proc root; it
// tests parsing alone (the real /proc is covered above).
func fakeProc(t *testing.T, stat, status string) FS {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "42")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"stat": stat, "status": status, "loginuid": "1000\n", "sessionid": "4294967295"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return FS{Root: root}
}

const status = "Name:\tx\nUid:\t1000\t1001\t1001\t1001\nGid:\t1\t1\t1\t1\n"

func TestParsing(t *testing.T) {
	tail := " S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 123456 1000 10 18446744073709551615\n"
	tests := []struct {
		name, stat, status string
		wantStart          uint64
		wantErr            bool
	}{
		{"plain", "42 (sleep)" + tail, status, 123456, false},
		{"hostile comm", "42 (a) S 1 2 ) (b)" + tail, status, 123456, false},
		{"truncated stat", "42 (sleep) S 1 2", status, 0, true},
		{"no close paren", "42 (sleep S 1", status, 0, true},
		{"no Uid line", "42 (sleep)" + tail, "Name:\tx\n", 0, true},
		{"malformed uid", "42 (sleep)" + tail, "Uid:\t1\tx\t1\t1\n", 0, true},
	}
	for _, tt := range tests {
		for _, r := range readers {
			t.Run(tt.name+"/"+r.name, func(t *testing.T) {
				p, err := r.read(fakeProc(t, tt.stat, tt.status), 42)
				if (err != nil) != tt.wantErr {
					t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
				}
				if err != nil {
					return
				}
				if p.PID != 42 || p.StartTime != tt.wantStart || p.UID != 1001 || p.LoginUID != 1000 || p.Session != Unset {
					t.Errorf("%s = %+v", r.name, p)
				}
			})
		}
	}
}

// readers read a process as Lookup does and as Hold does: both read it
// with one piece of code, and must agree.
var readers = []struct {
	name string
	read func(FS, int32) (Process, error)
}{
	{"Lookup", FS.Lookup},
	{"Hold", func(fs FS, pid int32) (Process, error) {
		h, err := fs.Hold(pid)
		if err != nil {
			return Process{}, err
		}
		h.Close()
		return h.Process, nil
	}},
}

func TestNSDepth(t *testing.T) {
	for _, tt := range []struct {
		status string
		want   int
	}{
		{status, 0},
		{status + "NSpid:\t42\n", 1},
		{status + "NSpid:\t4242\t2\n", 2},
	} {
		if got := nsDepth([]byte(tt.status)); got != tt.want {
			t.Errorf("nsDepth(%q) = %d, want %d", tt.status, got, tt.want)
		}
	}
}

func TestInvalidPID(t *testing.T) {
	for _, pid := range []int32{0, -1} {
		for _, r := range readers {
			if _, err := r.read(FS{Root: "/proc"}, pid); err == nil || !strings.Contains(err.Error(), "invalid pid") {
				t.Errorf("%s(%d): %v, want an invalid pid error", r.name, pid, err)
			}
		}
	}
}

// BenchmarkLookup measures reading a live process, as the daemon does for
// every on-behalf request.
func BenchmarkLookup(b *testing.B) {
	pid := int32(os.Getpid())
	for range b.N {
		if _, err := Lookup(pid); err != nil {
			b.Fatal(err)
		}
	}
}
