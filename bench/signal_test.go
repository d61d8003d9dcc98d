// SPDX-License-Identifier: Apache-2.0

//go:build bench

package bench

import (
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// ruleFiles removes the benchmark's polkit rule files if it is
// interrupted (SIGINT, SIGTERM), then exits: an interrupted test binary
// runs no cleanup, and the benchmark's rules are broad enough to change
// what every other polkitd on the machine answers. Cleanup removes each
// rule as usual otherwise; a binary killed outright leaves them to the
// next AddRule, which removes the rule files of dead test binaries.
type ruleFiles struct {
	mu    sync.Mutex
	paths []string
}

// watch starts the signal handler until t's cleanup.
func (rf *ruleFiles) watch(t *testing.T) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			rf.mu.Lock() // held until exit: no rule is added meanwhile
			for _, p := range rf.paths {
				os.Remove(p)
			}
			t.Logf("interrupted (%v): removed %v", s, rf.paths)
			os.Exit(1)
		case <-done:
		}
	}()
	t.Cleanup(func() {
		signal.Stop(sig)
		close(done)
	})
}

// add installs a rule with pk for t's lifetime, known to the handler.
func (rf *ruleFiles) add(t *testing.T, pk *testsys.Polkitd, name, javascript string) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	r := pk.AddRule(t, name, javascript)
	rf.paths = append(rf.paths, r.Path)
	t.Cleanup(func() {
		rf.mu.Lock()
		defer rf.mu.Unlock()
		rf.paths = slices.DeleteFunc(rf.paths, func(p string) bool { return p == r.Path })
	})
}
