// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// RulesDir is where polkitd 122 reads local rules; it watches it with
// inotify and reloads every rule file on a change.
const RulesDir = "/etc/polkit-1/rules.d"

// rulePrefix marks the files this package writes, so stale ones from a
// killed test binary can be found: "50-vah-test-p<pid>-<seq>-<name>.rules".
const rulePrefix = "50-vah-test-p"

// ruleTimeout bounds the wait for polkitd to load a rule change.
const ruleTimeout = PolkitAnswerTimeout

var ruleName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// ruleSeq orders the rule files of one test binary by creation, so rules
// are evaluated in the order tests add them.
var ruleSeq atomic.Uint64

// A Rule is a polkit rule file written by AddRule. Its methods are safe for
// concurrent use.
type Rule struct {
	// Path is the rule file.
	Path string

	pk    *Polkitd
	mu    sync.Mutex
	token string // the probe token of the version on disk; "" once removed
}

// AddRule writes javascript as a polkit rule file in RulesDir and returns
// once pk has loaded it. The file is removed at cleanup. Files sort by
// creation, so within a test binary earlier rules win.
//
// The file begins with a probe rule (for action org.freedesktop.policykit.exec
// with a detail only this package sends) and AddRule asks pk until the probe
// answers: proof that this version is loaded, which the Changed signal alone
// cannot give when other test binaries change rules at the same time. So
// javascript must not return a result for every action and subject: rules
// should test the subject (a user from AddUser) and the action.
func (pk *Polkitd) AddRule(t testing.TB, name, javascript string) *Rule {
	t.Helper()
	if !ruleName.MatchString(name) {
		t.Fatalf("testsys: rule name %q: use lowercase letters, digits, '-' and '_'", name)
	}
	removeStaleRules()
	file := fmt.Sprintf("%s%d-%06d-%s.rules", rulePrefix, os.Getpid(), ruleSeq.Add(1), name)
	r := &Rule{Path: filepath.Join(RulesDir, file), pk: pk}
	t.Cleanup(func() {
		if err := r.remove(); err != nil {
			t.Errorf("testsys: %v", err)
		}
	})
	r.Replace(t, javascript)
	return r
}

// Replace replaces the rule's JavaScript and returns once pk has loaded the
// new version.
func (r *Rule) Replace(t testing.TB, javascript string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	token := newToken()
	mark := r.pk.outputLen()
	content := fmt.Sprintf(probeRule, probeAction, probeKey, token) + javascript + "\n"
	if err := writeFileAtomic(r.Path, []byte(content)); err != nil {
		t.Fatalf("testsys: polkit rule: %v", err)
	}
	r.token = token
	if err := r.pk.waitProbe(token, true, r.Path, mark); err != nil {
		t.Fatalf("testsys: polkit rule %s: %v", r.Path, err)
	}
}

// Remove deletes the rule file and returns once pk no longer applies it.
func (r *Rule) Remove(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	token := r.token
	if err := r.removeLocked(); err != nil {
		t.Fatalf("testsys: %v", err)
	}
	if token == "" {
		return
	}
	if err := r.pk.waitProbe(token, false, r.Path, r.pk.outputLen()); err != nil {
		t.Fatalf("testsys: polkit rule %s: %v", r.Path, err)
	}
}

// remove deletes the file without waiting: at cleanup no polkitd needs to
// see it go (a polkitd started later never loads it).
func (r *Rule) remove() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.removeLocked()
}

func (r *Rule) removeLocked() error {
	r.token = ""
	if err := os.Remove(r.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove polkit rule: %w", err)
	}
	return nil
}

// writeFileAtomic writes a file by renaming a complete temporary file into
// place, so polkitd never reads half a rule. polkitd ignores names starting
// with a dot.
func writeFileAtomic(path string, content []byte) error {
	tmp := filepath.Join(filepath.Dir(path), ".vah-tmp-"+newToken())
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("install %s: %w", path, err)
	}
	return nil
}

// removeStaleRules deletes rule files left by test binaries that died
// before their cleanup ran.
func removeStaleRules() {
	paths, _ := filepath.Glob(filepath.Join(RulesDir, rulePrefix+"*.rules"))
	for _, path := range paths {
		rest := strings.TrimPrefix(filepath.Base(path), rulePrefix)
		pid, err := strconv.Atoi(rest[:max(strings.IndexByte(rest, '-'), 0)])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			os.Remove(path)
		}
	}
}

func newToken() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
