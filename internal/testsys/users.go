// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/proc"
)

// maxUserName is the longest user name useradd accepts on Debian.
const maxUserName = 32

// userMarker goes in the comment field of every user AddUser creates, with
// the pid of the test binary, so users left by a killed binary can be found.
const userMarker = "virt-acl-helper test user, pid "

// lockRetry bounds retries of useradd and userdel, which fail rather than
// wait when another process holds the passwd lock.
const lockRetry = 10 * time.Second

var userName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// A User is a real account created for a test.
type User struct {
	Name string
	UID  uint32
	GID  uint32 // the user's own group
}

// AddUser creates a real user named "vah-<name>-<random>" (at most 32
// characters) with its own group, no home directory and no login shell,
// and deletes it at cleanup. The random part keeps parallel tests and test
// binaries from sharing, or deleting, each other's users; rules should name
// u.Name.
func AddUser(t testing.TB, name string) User {
	t.Helper()
	NeedRoot(t)
	useradd := NeedCommand(t, "useradd")
	NeedCommand(t, "userdel")
	if !userName.MatchString(name) {
		t.Fatalf("testsys: user name %q: use lowercase letters, digits, '-' and '_', starting with a letter", name)
	}
	removeStaleUsers()
	full := uniqueUserName(name)
	comment := userMarker + strconv.Itoa(os.Getpid())
	err := retryLocked(useradd, "--no-create-home", "--user-group",
		"--shell", "/usr/sbin/nologin", "--comment", comment, full)
	if err != nil {
		t.Fatalf("testsys: add user %s: %v", full, err)
	}
	t.Cleanup(func() {
		if err := deleteUser(full); err != nil {
			t.Errorf("testsys: %v", err)
		}
	})
	u, err := lookupUser(full)
	if err != nil {
		t.Fatalf("testsys: %v", err)
	}
	return u
}

// uniqueUserName builds "vah-<name>-<6 hex digits>", cutting name to fit.
func uniqueUserName(name string) string {
	suffix := "-" + newToken()[:6]
	if room := maxUserName - len("vah-") - len(suffix); len(name) > room {
		name = name[:room]
	}
	return "vah-" + name + suffix
}

func lookupUser(name string) (User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return User{}, fmt.Errorf("look up user %s just created: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return User{}, fmt.Errorf("user %s: %w", name, err)
	}
	return User{Name: name, UID: uint32(uid), GID: uint32(gid)}, nil
}

func deleteUser(name string) error {
	if err := retryLocked("userdel", name); err != nil {
		return fmt.Errorf("delete user %s: %w", name, err)
	}
	return nil
}

// retryLocked runs a shadow-utils command, retrying while another process
// holds the lock on /etc/passwd or /etc/group.
func retryLocked(name string, args ...string) error {
	deadline := time.Now().Add(lockRetry)
	for {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err == nil {
			return nil
		}
		if !bytes.Contains(out, []byte("lock")) || time.Now().After(deadline) {
			return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// removeStaleUsers deletes users created by test binaries that died before
// their cleanup ran.
func removeStaleUsers() {
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 5 || !strings.HasPrefix(f[0], "vah-") || !strings.HasPrefix(f[4], userMarker) {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimPrefix(f[4], userMarker))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			deleteUser(f[0]) // best effort; fails if it still has processes
		}
	}
}

// A Proc is a real process running as a test user, identified the way
// polkit's unix-process subject identifies it.
type Proc struct {
	PID       int32
	UID       uint32
	StartTime uint64 // field 22 of /proc/PID/stat: clock ticks after boot

	p *process
}

// Start runs a long-lived process (sleep) as the user, with the user's
// group and no supplementary groups. It is killed and reaped at cleanup.
func (u User) Start(t testing.TB) Proc {
	t.Helper()
	return u.StartCommand(t, nil, NeedCommand(t, "sleep"), "3600")
}

// StartCommand runs path with args as the user, like Start, reading its
// standard input from stdin (nil: none). It is killed and reaped at
// cleanup.
func (u User) StartCommand(t testing.TB, stdin io.Reader, path string, args ...string) Proc {
	t.Helper()
	NeedRoot(t)
	cmd := exec.Command(path, args...)
	cmd.Dir = "/"
	cmd.Stdin = stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}},
	}
	p, err := startProcess(filepath.Base(path)+" as "+u.Name, cmd)
	if err != nil {
		t.Fatalf("testsys: %v", err)
	}
	t.Cleanup(func() {
		if err := p.stop(syscall.SIGKILL, 0); err != nil {
			t.Errorf("testsys: %v", err)
		}
	})
	info, err := proc.Lookup(int32(p.pid()))
	if err != nil {
		t.Fatalf("testsys: process of %s: %v", u.Name, err)
	}
	return Proc{PID: info.PID, UID: u.UID, StartTime: info.StartTime, p: p}
}

// Subject names the process as a proxy names its client: by pid, pinned
// by the uid its socket credentials would give and by its start time.
func (pr Proc) Subject() *accessapi.Subject {
	uid, start := int64(pr.UID), pr.StartTime
	return &accessapi.Subject{PID: int64(pr.PID), UID: &uid, StartTime: &start}
}

// Kill ends the process early (SIGKILL) and reaps it, so its pid no longer
// names a live process.
func (pr Proc) Kill(t testing.TB) {
	t.Helper()
	if pr.p == nil {
		t.Fatalf("testsys: Proc %d was not started by User.Start", pr.PID)
	}
	if err := pr.p.stop(syscall.SIGKILL, 0); err != nil {
		t.Fatalf("testsys: %v", err)
	}
}
