// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

func writeConf(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "virt-acl-helper.conf")
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is subject to the umask; set it exactly.
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	path := writeConf(t, "cache_allow_ttl = 5\n", 0o644)
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Default()
	want.CacheAllowTTL = 5 * time.Second
	if !reflect.DeepEqual(want, got) {
		t.Errorf("Load:\nwant %+v\ngot  %+v", want, got)
	}
}

func TestLoadNamesPath(t *testing.T) {
	path := writeConf(t, "\ncache_size = -1\n", 0o600)
	_, err := Load(path)
	if want := path + ":2: cache_size: must be between 0 and 10000000, got -1"; err == nil || err.Error() != want {
		t.Errorf("error:\nwant %s\ngot  %v", want, err)
	}
}

func TestLoadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.conf")
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v is not fs.ErrNotExist", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.File != path {
		t.Fatalf("error %v is not an *Error naming %s", err, path)
	}
	if want := path + ": cannot open: no such file or directory"; e.Error() != want {
		t.Errorf("error:\nwant %s\ngot  %s", want, e.Error())
	}
}

func TestLoadRefusesUnsafeFiles(t *testing.T) {
	tests := []struct {
		name string
		path func(t *testing.T) string
		want string
	}{
		{"directory", func(t *testing.T) string { return t.TempDir() }, "not a regular file"},
		{"FIFO", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "fifo")
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}, "not a regular file"},
		{"group-writable", func(t *testing.T) string { return writeConf(t, "", 0o664) }, "writable by group or others (mode 0664)"},
		{"world-writable", func(t *testing.T) string { return writeConf(t, "", 0o602) }, "writable by group or others (mode 0602)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t)
			_, err := Load(path)
			if err == nil || !strings.HasPrefix(err.Error(), path+": "+tt.want) {
				t.Errorf("error:\nwant %s: %s...\ngot  %v", path, tt.want, err)
			}
		})
	}
}

// fakeInfo is a FileInfo for ownership cases the test cannot create
// without changing a file's owner.
type fakeInfo struct {
	mode fs.FileMode
	uid  uint32
}

func (fi fakeInfo) Name() string       { return "virt-acl-helper.conf" }
func (fi fakeInfo) Size() int64        { return 0 }
func (fi fakeInfo) Mode() fs.FileMode  { return fi.mode }
func (fi fakeInfo) ModTime() time.Time { return time.Time{} }
func (fi fakeInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi fakeInfo) Sys() any           { return &syscall.Stat_t{Uid: fi.uid} }

func TestUnsafeFileOwner(t *testing.T) {
	tests := []struct {
		name string
		uid  uint32
		euid int
		safe bool
	}{
		{"root-owned, daemon is root", 0, 0, true},
		{"root-owned, daemon is a user", 0, 500, true},
		{"owned by the daemon's user", 500, 500, true},
		{"owned by another user", 1000, 500, false},
		{"owned by a user, daemon is root", 1000, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := unsafeFile(fakeInfo{mode: 0o644, uid: tt.uid}, tt.euid)
			if safe := msg == ""; safe != tt.safe {
				t.Errorf("unsafeFile: want safe=%v, got %q", tt.safe, msg)
			}
		})
	}
}
