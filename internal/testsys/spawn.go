// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// StartProcess starts cmd as cmd.Start does, with SIGKILL as the signal the
// child gets when this process dies (Pdeathsig), so that a crashed test
// leaves no daemon behind. Every child is started from one thread kept
// for that as long as the process lives: the kernel sends Pdeathsig when
// the thread that forked the child exits, not its process, and the Go
// runtime ends threads that a goroutine exits locked to (an audit
// writer's low thread does so on purpose, audit/priority.go), which
// would kill whatever such a thread had started, at random, mid-test.
func StartProcess(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	done := make(chan error, 1)
	spawner() <- spawn{cmd, done}
	return <-done
}

// spawn is a child to start, and where to say how that went.
type spawn struct {
	cmd  *exec.Cmd
	done chan<- error
}

// spawner is the thread that starts every child: a goroutine locked to
// its thread and never unlocked, so that the thread lives as long as the
// process. It is process-wide by nature, hence started once.
var spawner = sync.OnceValue(func() chan<- spawn {
	c := make(chan spawn)
	go func() {
		runtime.LockOSThread() // for good: see StartProcess
		for s := range c {
			s.done <- s.cmd.Start()
		}
	}()
	return c
})
