// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestStartProcessOutlivesItsCaller: a child started from a goroutine
// whose thread then ends (the goroutine exits locked to it, as an audit
// writer's low thread does) keeps running; started there with cmd.Start
// and Pdeathsig, the kernel would kill it with the thread.
func TestStartProcessOutlivesItsCaller(t *testing.T) {
	type started struct {
		cmd *exec.Cmd
		tid int
		err error
	}
	got := make(chan started)
	var s started
	for s.cmd == nil {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
			if unix.Gettid() == os.Getpid() {
				// The main thread is parked, not ended, after such an
				// exit: try again on another.
				runtime.UnlockOSThread()
				got <- started{}
				return
			}
			cmd := exec.Command("sleep", "60")
			got <- started{cmd, unix.Gettid(), StartProcess(cmd)}
		}()
		s = <-got
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	pid := s.cmd.Process.Pid
	t.Cleanup(func() {
		s.cmd.Process.Kill() // by pid: the child this started
		s.cmd.Wait()
	})
	task := "/proc/self/task/" + strconv.Itoa(s.tid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(task); os.IsNotExist(err) {
			break // the caller's thread has ended
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d of the caller still runs after 10 s", s.tid)
		}
	}
	// A child killed with the thread would be gone within this wait.
	var ws unix.WaitStatus
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err != nil || n == pid {
			t.Fatalf("child %d ended with the thread that asked for it: %v (wait: %v)", pid, ws, err)
		}
	}
}
