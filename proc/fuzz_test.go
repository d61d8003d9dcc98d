// SPDX-License-Identifier: Apache-2.0

package proc

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzLookup checks the parsing of /proc files whose content a process
// partly controls: its command name (field 2 of stat, set with prctl or by
// naming the executable) may hold spaces, parentheses and newlines, and
// must never shift the start time that, with the pid, names the process
// to polkit. Wholly arbitrary stat and status files must give an error or
// a process, never a panic.
func FuzzLookup(f *testing.F) {
	f.Add("bash", []byte("42 (x) S 1"), []byte("Uid:\t0\t0\t0\t0\n"))
	f.Add(") S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 999 (", []byte(""), []byte("Uid:\n"))
	f.Add("a\nb) 1", []byte("42 (a) b) c 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 x"), []byte("Uid:\t-1\t1\t1\t1\nUid:\t2\t2\t2\t2\n"))
	f.Fuzz(func(t *testing.T, comm string, stat, status []byte) {
		const start = 123456
		tail := " S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 " + strconv.Itoa(start) + " 1000 10\n"
		fs := fuzzProc(t, []byte("42 ("+comm+")"+tail), []byte("Uid:\t1000\t1001\t1001\t1001\n"))
		p, err := fs.Lookup(42)
		if err != nil {
			t.Fatalf("command name %q: %v", comm, err)
		}
		if p.StartTime != start || p.UID != 1001 {
			t.Fatalf("command name %q read as start time %d, uid %d", comm, p.StartTime, p.UID)
		}
		fuzzProc(t, stat, status).Lookup(42)
	})
}

func fuzzProc(t *testing.T, stat, status []byte) FS {
	root := t.TempDir()
	dir := filepath.Join(root, "42")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"stat": stat, "status": status} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return FS{Root: root}
}
