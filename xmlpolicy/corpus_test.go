// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// corpus returns the files of testdata/dir, by stem.
func corpus(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus %s: %v (%d files)", dir, err, len(files))
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".xml")] = b
	}
	return out
}

// TestAcceptedCorpus: what virt-install and virt-manager write for a
// disk-from-pool VM passes the default policy, and Uses names its volumes,
// network and name.
func TestAcceptedCorpus(t *testing.T) {
	p := Default()
	for stem, doc := range corpus(t, "accepted") {
		t.Run(stem, func(t *testing.T) {
			uses, err := p.Check(Domain, doc)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if uses.Name != stem {
				t.Errorf("Uses.Name = %q, want the file's stem %q", uses.Name, stem)
			}
			if len(uses.Volumes) == 0 || uses.Volumes[0] != (Volume{Pool: "default", Name: stem + ".raw"}) {
				t.Errorf("Uses.Volumes = %v, want default/%s.raw first", uses.Volumes, stem)
			}
			if len(uses.Networks) != 1 || uses.Networks[0] != "default" {
				t.Errorf("Uses.Networks = %v, want [default]", uses.Networks)
			}
		})
	}
}

// expectRE is the comment every refused file carries:
// <!-- expect: RULE PATH -->, what the refusal must name.
var expectRE = regexp.MustCompile(`expect: (\S+) (\S+)`)

// TestRefusedCorpus: every root-equivalent definition of the research
// list, and every parser attack, is refused (testdata/refused holds whole
// domains, testdata/refused-other the other kinds, named by prefix), naming the rule and the path
// its file's expect comment gives.
func TestRefusedCorpus(t *testing.T) {
	p := Default()
	docs := corpus(t, "refused")
	for stem, doc := range corpus(t, "refused-other") {
		docs[stem] = doc
	}
	for stem, doc := range docs {
		t.Run(stem, func(t *testing.T) {
			m := expectRE.FindSubmatch(doc)
			if m == nil {
				t.Fatal("file has no <!-- expect: RULE PATH --> comment")
			}
			_, err := p.Check(kindOf(stem), doc)
			var v *Violation
			if !errors.As(err, &v) {
				t.Fatalf("Check = %v, want a *Violation", err)
			}
			if v.Rule != string(m[1]) || v.Path != string(m[2]) {
				t.Errorf("refused as %s at %s (%s), want rule %s at %s", v.Rule, v.Path, v.Reason, m[1], m[2])
			}
		})
	}
}

// kindOf is the kind a refused file is checked as: by its name's prefix,
// a domain when it has none.
func kindOf(stem string) Kind {
	for _, k := range []Kind{Device, Snapshot, Backup, Checkpoint, BlockCopyDest} {
		if strings.HasPrefix(stem, k.String()+"-") {
			return k
		}
	}
	return Domain
}
