// SPDX-License-Identifier: Apache-2.0

package tests

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// guardStreamPool is the transient pool of TestGuardStreams; its name is
// also how a killed run's pool is found and removed.
const guardStreamPool = "vah-gstream-pool"

// guardStreamRule lets user A read and write the data of the test's two
// volumes and take screenshots of vmA: the permissions the streams need,
// on those objects only.
const guardStreamRule = `polkit.addRule(function(action, subject) {
    if (subject.user != %q) {
        return polkit.Result.NOT_HANDLED;
    }
    var vols = ["vah-gstream-vol", "vah-gstream-sparse"];
    if ((action.id == "org.libvirt.api.storage-vol.data-read" ||
         action.id == "org.libvirt.api.storage-vol.data-write") &&
        action.lookup("pool_name") == %q && vols.indexOf(action.lookup("vol_name")) >= 0) {
        return polkit.Result.YES;
    }
    if (action.id == "org.libvirt.api.domain.screenshot" &&
        action.lookup("domain_uuid") == %q && action.lookup("domain_name") == %q) {
        return polkit.Result.YES;
    }
    return polkit.Result.NOT_HANDLED;
});`

// streamFiles is where TestGuardStreams keeps its files: the pool's
// directory (root's, which libvirtd writes) and one every user may write
// in (virsh writes downloads and screenshots as the test user).
type streamFiles struct {
	pool, out string
}

// TestGuardStreams runs virsh's streams through the guard as real users:
// volume upload and download, plain and sparse (STREAM_HOLE both ways),
// and a screenshot of a running TCG VM. User A holds data_read and
// data_write on the test's volumes and screenshot on vmA; user B holds
// none and is denied with nothing written.
func TestGuardStreams(t *testing.T) {
	w := newGuardWorld(t)
	files := newStreamPool(t, w.lv)
	w.pk.AddRule(t, "guard-stream", fmt.Sprintf(guardStreamRule, w.a.Name, guardStreamPool, w.uuidA, w.vmA))

	t.Run("volume upload and download", func(t *testing.T) { w.volumeRoundTrip(t, files) })
	t.Run("sparse upload and download", func(t *testing.T) { w.sparseRoundTrip(t, files) })
	t.Run("screenshot", func(t *testing.T) { w.screenshot(t, files) })
}

// newStreamPool creates the test's transient dir pool and its two empty
// volumes, after removing a killed run's; all is removed at cleanup.
func newStreamPool(t *testing.T, lv *testsys.Libvirtd) streamFiles {
	t.Helper()
	removeStreamPool(lv)
	t.Cleanup(func() { removeStreamPool(lv) })
	base, err := os.MkdirTemp("", "vah-gstream-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	f := streamFiles{pool: filepath.Join(base, "pool"), out: filepath.Join(base, "out")}
	for dir, mode := range map[string]os.FileMode{base: 0o755, f.pool: 0o755, f.out: 0o1777} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"pool-create-as", guardStreamPool, "dir", "--target", f.pool},
		// --allocation 0: sparse files, so that holes can be seen
		{"vol-create-as", guardStreamPool, "vah-gstream-vol", "4M", "--format", "raw", "--allocation", "0"},
		{"vol-create-as", guardStreamPool, "vah-gstream-sparse", "8M", "--format", "raw", "--allocation", "0"},
	} {
		rootVirsh(t, lv, args...)
	}
	return f
}

// removeStreamPool removes the transient pool, its volumes with it, and
// the directories of runs killed before their cleanup.
func removeStreamPool(lv *testsys.Libvirtd) {
	lv.Virsh(nil, "pool-destroy", guardStreamPool) // fails harmlessly when absent
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), "vah-gstream-*"))
	for _, dir := range old {
		os.RemoveAll(dir)
	}
}

// volumeRoundTrip uploads random data as A and downloads it back, byte
// for byte; B's upload and download are denied and change nothing.
func (w *guardWorld) volumeRoundTrip(t *testing.T, f streamFiles) {
	data := make([]byte, 4<<20)
	rand.Read(data)
	src := writeShared(t, f.out, "plain-src", data, nil)
	w.mustVirshAs(t, w.a, "vol-upload", "--pool", guardStreamPool, "vah-gstream-vol", src)
	got := filepath.Join(f.out, "plain-got")
	w.mustVirshAs(t, w.a, "vol-download", "--pool", guardStreamPool, "vah-gstream-vol", got)
	sameFile(t, got, data)
	sameFile(t, filepath.Join(f.pool, "vah-gstream-vol"), data)

	w.streamDenied(t, f, "vah-gstream-vol", data, "")
}

// sparseRoundTrip uploads a file with holes as A with --sparse and
// downloads it back with --sparse: the same bytes, the holes still holes
// in the volume and in the download.
func (w *guardWorld) sparseRoundTrip(t *testing.T, f streamFiles) {
	const mib = 1 << 20
	data := make([]byte, 8*mib) // data at 1-2 MiB and 5-6 MiB, holes elsewhere
	rand.Read(data[1*mib : 2*mib])
	rand.Read(data[5*mib : 6*mib])
	src := writeShared(t, f.out, "sparse-src", data, [][2]int{{1 * mib, 2 * mib}, {5 * mib, 6 * mib}})
	wantSparse(t, src, len(data))
	w.mustVirshAs(t, w.a, "vol-upload", "--sparse", "--pool", guardStreamPool, "vah-gstream-sparse", src)
	vol := filepath.Join(f.pool, "vah-gstream-sparse")
	sameFile(t, vol, data)
	wantSparse(t, vol, len(data))
	got := filepath.Join(f.out, "sparse-got")
	w.mustVirshAs(t, w.a, "vol-download", "--sparse", "--pool", guardStreamPool, "vah-gstream-sparse", got)
	sameFile(t, got, data)
	wantSparse(t, got, len(data))

	w.streamDenied(t, f, "vah-gstream-sparse", data, "--sparse")
}

// streamDenied: B's upload (of other data) and download of vol are
// denied, the volume keeps want and B's download holds nothing.
func (w *guardWorld) streamDenied(t *testing.T, f streamFiles, vol string, want []byte, sparse string) {
	t.Helper()
	other := writeShared(t, f.out, vol+"-b-src", bytes.Repeat([]byte{0xb}, len(want)), nil)
	got := filepath.Join(f.out, vol+"-b-got")
	for _, args := range [][]string{
		{"vol-upload", sparse, "--pool", guardStreamPool, vol, other},
		{"vol-download", sparse, "--pool", guardStreamPool, vol, got},
	} {
		args = dropEmpty(args)
		if out, err := w.virsh(w.b, args...); err == nil || !strings.Contains(out, "access denied") {
			t.Errorf("virsh %s as B: want access denied, got %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	sameFile(t, filepath.Join(f.pool, vol), want)
	if st, err := os.Stat(got); err == nil && st.Size() != 0 {
		t.Errorf("B's denied download wrote %d bytes", st.Size())
	}
}

// screenshot starts vmA and takes its screenshot as A through the guard:
// a PPM image arrives; B is denied and gets no image.
func (w *guardWorld) screenshot(t *testing.T, f streamFiles) {
	rootVirsh(t, w.lv, "start", w.vmA)
	defer w.lv.Virsh(nil, "destroy", w.vmA)
	img := filepath.Join(f.out, "screen-a")
	out := w.mustVirshAs(t, w.a, "screenshot", w.vmA, img)
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatalf("screenshot (%s): %v", out, err)
	}
	if !validImage(b) {
		t.Errorf("screenshot is not a PPM or PNG image: %d bytes, begins %q", len(b), b[:min(len(b), 16)])
	}
	imgB := filepath.Join(f.out, "screen-b")
	if out, err := w.virsh(w.b, "screenshot", w.vmA, imgB); err == nil || !strings.Contains(out, "access denied") {
		t.Errorf("screenshot as B: want access denied, got %v\n%s", err, out)
	}
	if st, err := os.Stat(imgB); err == nil && st.Size() != 0 {
		t.Errorf("B's denied screenshot wrote %d bytes", st.Size())
	}
}

// validImage says whether b is a binary PPM with a well-formed header
// (QEMU's screendump) or a PNG.
func validImage(b []byte) bool {
	if bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		return true
	}
	var wd, ht, maxval int
	n, err := fmt.Sscanf(string(b[:min(len(b), 64)]), "P6 %d %d %d", &wd, &ht, &maxval)
	if err != nil || n != 3 || wd <= 0 || ht <= 0 || maxval != 255 {
		return false
	}
	// the pixels follow the header and one whitespace byte
	header := len(fmt.Sprintf("P6\n%d %d\n%d\n", wd, ht, maxval))
	return len(b) == header+3*wd*ht
}

// mustVirshAs runs virsh as u through the guard and fails the test when
// it fails.
func (w *guardWorld) mustVirshAs(t *testing.T, u testsys.User, args ...string) string {
	t.Helper()
	out, err := w.virsh(u, args...)
	if err != nil {
		t.Fatalf("virsh %s as %s: %v\n%s", strings.Join(args, " "), u.Name, err, out)
	}
	return out
}

// writeShared writes data to a new file name in dir, readable by all:
// only the ranges in extents when given (the rest left as holes).
func writeShared(t *testing.T, dir, name string, data []byte, extents [][2]int) string {
	t.Helper()
	path := filepath.Join(dir, name)
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if extents == nil {
		extents = [][2]int{{0, len(data)}}
	}
	for _, e := range extents {
		if _, err := fh.WriteAt(data[e[0]:e[1]], int64(e[0])); err != nil {
			t.Fatal(err)
		}
	}
	if err := fh.Truncate(int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// sameFile fails the test unless the file at path holds want.
func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes differ from the %d expected", filepath.Base(path), len(got), len(want))
	}
}

// wantSparse fails the test unless the file at path has holes: fewer
// blocks allocated than its size needs.
func wantSparse(t *testing.T, path string, size int) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != int64(size) || st.Blocks*512 >= int64(size) {
		t.Errorf("%s: size %d, %d bytes allocated: want size %d with holes", filepath.Base(path), st.Size, st.Blocks*512, size)
	}
}

func dropEmpty(args []string) []string {
	var out []string
	for _, a := range args {
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}
