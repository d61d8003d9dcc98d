// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/virt-acl-helper/virt-acl-helper/internal/testsys"
)

// libvirtHost is a real libvirtd with a pool named "default" (a directory)
// and an isolated network, for the corpus.
type libvirtHost struct {
	t   *testing.T
	l   *testsys.Libvirtd
	dir string
	net string // the isolated network standing in for "default"
}

func startHost(t *testing.T) *libvirtHost {
	l := testsys.StartLibvirtd(t, testsys.LibvirtdOptions{})
	// Not t.TempDir: QEMU (another user) must reach the volumes, and
	// t.TempDir's parent is private.
	dir, err := os.MkdirTemp("", "vah-xmlpolicy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &libvirtHost{t: t, l: l, dir: dir, net: fmt.Sprintf("vah-xp-%d", os.Getpid())}
	// The corpus names pool "default": the host's if it has one (the
	// test's volumes are removed at cleanup), else a transient one.
	if info, err := l.Virsh(nil, "pool-info", "default"); err == nil && !strings.Contains(info, "running") {
		t.Fatalf("the host's pool \"default\", which the corpus names, is not running (a test's leftover? tests/reset-host.sh removes those):\n%s", info)
	} else if err != nil {
		h.must("pool-create", h.file("pool.xml", "<pool type='dir'><name>default</name><target><path>"+h.dir+"</path></target></pool>"))
		t.Cleanup(func() { h.l.Virsh(nil, "pool-destroy", "default") })
	}
	// No <ip>: the network needs no dnsmasq, which a test host may lack.
	h.must("net-create", h.file("net.xml", fmt.Sprintf("<network><name>%s</name><bridge name='vahxp%d'/></network>", h.net, os.Getpid()%100000)))
	t.Cleanup(func() { h.l.Virsh(nil, "net-destroy", h.net) })
	return h
}

func (h *libvirtHost) file(name, content string) string {
	path := filepath.Join(h.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return path
}

func (h *libvirtHost) must(args ...string) string {
	h.t.Helper()
	out, err := h.l.Virsh(nil, args...)
	if err != nil {
		h.t.Fatalf("virsh %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestAcceptedCorpusStarts defines and starts every accepted definition
// on a real libvirtd (QEMU, TCG), after the default policy passed it, with
// the volumes Uses names created in the pool. The only change is the
// network: "default" becomes an isolated network of the test's.
func TestAcceptedCorpusStarts(t *testing.T) {
	h := startHost(t)
	p := Default()
	docs := corpus(t, "accepted")
	stems := make([]string, 0, len(docs))
	for stem := range docs {
		stems = append(stems, stem)
	}
	sort.Strings(stems)
	for _, stem := range stems {
		t.Run(stem, func(t *testing.T) {
			uses, err := p.Check(Domain, docs[stem])
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			for _, v := range uses.Volumes {
				if _, err := h.l.Virsh(nil, "vol-info", "--pool", v.Pool, v.Name); err == nil {
					continue // an earlier file's
				}
				h.must("vol-create-as", v.Pool, v.Name, "1M", "--format", "raw")
				h.t.Cleanup(func() { h.l.Virsh(nil, "vol-delete", "--pool", v.Pool, v.Name) })
			}
			doc := strings.ReplaceAll(string(docs[stem]), `network="default"`, `network="`+h.net+`"`)
			doc = strings.ReplaceAll(doc, `network='default'`, `network='`+h.net+`'`)
			h.must("define", h.file(stem+".xml", doc))
			defer h.l.Virsh(nil, "undefine", stem)
			h.must("start", stem)
			defer h.l.Virsh(nil, "destroy", stem)
			if state := strings.TrimSpace(h.must("domstate", stem)); state != "running" {
				t.Errorf("domstate = %q, want running", state)
			}
		})
	}
}

// TestRefusedCorpusLibvirtAccepts: the root-equivalent definitions are
// real: libvirtd itself defines each one the policy refuses (the
// refusal is the policy's, not libvirt's), except the few this host's
// libvirtd refuses for a reason of its own, listed with the reason it
// gives. Parser attacks (xml-*) are left out: what libvirt makes of them
// is the point of refusing them.
func TestRefusedCorpusLibvirtAccepts(t *testing.T) {
	h := startHost(t)
	libvirtRefuses := map[string]string{
		"bootloader":         "bootloader is not supported by QEMU",
		"launchsecurity-sev": "SEV launch security is not supported with this QEMU binary",
		"interface-ip-route": "Invalid attempt to set network interface guest-side IP route",
		"tpm-secret":         "TPM version '2.0' is not supported", // no swtpm here
	}
	for stem, doc := range corpus(t, "refused") {
		if strings.HasPrefix(stem, "xml-") {
			continue
		}
		t.Run(stem, func(t *testing.T) {
			out, err := h.l.Virsh(nil, "define", h.file(stem+".xml", string(doc)))
			if why, ok := libvirtRefuses[stem]; ok {
				if err == nil || !strings.Contains(out, why) {
					t.Errorf("define = %v, %q; want libvirtd's own refusal %q (update the list)", err, out, why)
				}
				h.l.Virsh(nil, "undefine", stem)
				return
			}
			if err != nil {
				t.Fatalf("libvirtd refused it too, so it shows nothing: %v: %s", err, out)
			}
			h.l.Virsh(nil, "undefine", stem, "--nvram")
		})
	}
}
