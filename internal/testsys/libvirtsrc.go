// SPDX-License-Identifier: Apache-2.0

package testsys

import (
	"os"
	"path/filepath"
	"testing"
)

// LibvirtCacheEnv overrides where tests/libvirt-source.sh keeps libvirt's
// protocol files (default: the user cache directory's virt-acl-helper).
const LibvirtCacheEnv = "VIRT_ACL_HELPER_LIBVIRT_CACHE"

// LibvirtSource returns the libvirt source tree (of the given version)
// that tests/libvirt-source.sh fetched, or skips the test (fails it under
// Integration()) if it has not been fetched.
func LibvirtSource(t testing.TB, version string) string {
	t.Helper()
	cache := os.Getenv(LibvirtCacheEnv)
	if cache == "" {
		dir, err := os.UserCacheDir()
		Need(t, err == nil, "no user cache directory for libvirt's source")
		cache = filepath.Join(dir, "virt-acl-helper")
	}
	dir := filepath.Join(cache, "libvirt-"+version)
	_, err := os.Stat(filepath.Join(dir, ".complete"))
	Need(t, err == nil, "libvirt "+version+" source not in "+dir+"; run tests/libvirt-source.sh")
	return dir
}
