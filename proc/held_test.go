// SPDX-License-Identifier: Apache-2.0

package proc

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// startSleep runs a child that waits until the test kills it.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if os.Geteuid() == 0 { // a root process is never current: run it as nobody
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

func TestHeld(t *testing.T) {
	tests := []struct {
		name    string
		change  func(t *testing.T, cmd *exec.Cmd) // what happens to the child after Hold
		current bool
	}{
		{"still running", func(*testing.T, *exec.Cmd) {}, true},
		{"exited and reaped", func(t *testing.T, cmd *exec.Cmd) {
			cmd.Process.Kill()
			cmd.Wait()
		}, false},
		{"zombie", func(t *testing.T, cmd *exec.Cmd) {
			cmd.Process.Kill()
			for range 200 { // until the kernel has released its memory
				if data, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat"); err == nil && zombie(data) {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Fatal("the child did not become a zombie")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := startSleep(t)
			h, err := Hold(int32(cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			want, err := Lookup(int32(cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			if h.Process != want {
				t.Fatalf("Hold read %+v, Lookup %+v", h.Process, want)
			}
			tt.change(t, cmd)
			if got := h.Current(); got != tt.current {
				t.Errorf("Current() = %v, want %v", got, tt.current)
			}
		})
	}
}

// A held process is current only while what Current checks is as read;
// the test changes what was read, as a change of the process would.
func TestHeldChanged(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Process)
	}{
		{"executable unknown", func(p *Process) { p.Exe = "" }},
		{"another executable", func(p *Process) { p.Exe = "/not/the/executable" }},
		{"another uid", func(p *Process) { p.UID++ }},
		{"root", func(p *Process) { p.UID = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Hold(int32(os.Getpid()))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if h.UID != 0 && !h.Current() {
				t.Fatal("this process is not current")
			}
			tt.change(&h.Process)
			if h.Current() {
				t.Errorf("current after %s; it must be read again", tt.name)
			}
		})
	}
}

// zombie reports whether a stat file's state (field 3) is Z.
func zombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && bytes.HasPrefix(stat[i+1:], []byte(" Z"))
}
