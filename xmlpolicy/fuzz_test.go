// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// seeds adds every corpus file to f.
func seeds(f *testing.F) {
	for _, dir := range []string{"accepted", "refused", "refused-other"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.xml"))
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
}

// stdDomain is what encoding/xml's own namespace-aware decoder reads as a
// domain's name, volumes and networks: a second reader to hold Uses to.
type stdDomain struct {
	Name    []string `xml:"name"`
	Devices struct {
		Disks []struct {
			Source []struct {
				Pool   string `xml:"pool,attr"`
				Volume string `xml:"volume,attr"`
			} `xml:"source"`
		} `xml:"disk"`
		Interfaces []struct {
			Source []struct {
				Network string `xml:"network,attr"`
			} `xml:"source"`
		} `xml:"interface"`
	} `xml:"devices"`
}

func (d stdDomain) uses() Uses {
	var u Uses
	if len(d.Name) > 0 {
		u.Name = d.Name[0]
	}
	for _, disk := range d.Devices.Disks {
		for _, s := range disk.Source {
			u.Volumes = append(u.Volumes, Volume{s.Pool, s.Volume})
		}
	}
	for _, in := range d.Devices.Interfaces {
		for _, s := range in.Source {
			u.Networks = append(u.Networks, s.Network)
		}
	}
	return u
}

// FuzzCheck: no document panics Check, and a document that passes reads
// the same to encoding/xml's decoder: the same name, volumes and networks.
func FuzzCheck(f *testing.F) {
	seeds(f)
	p := Default()
	f.Fuzz(func(t *testing.T, doc []byte) {
		uses, err := p.Check(Domain, doc)
		for k := Device; k <= BlockCopyDest; k++ {
			p.Check(k, doc)
		}
		if err != nil {
			return
		}
		var d stdDomain
		if err := xml.Unmarshal(doc, &d); err != nil {
			t.Fatalf("passed, but encoding/xml cannot read it: %v", err)
		}
		got := d.uses()
		uses.UUID = ""
		if !reflect.DeepEqual(got, uses) {
			t.Fatalf("passed with Uses %+v, but encoding/xml reads %+v", uses, got)
		}
	})
}

// FuzzParse: no policy file panics Parse, and one that parses checks the
// corpus without panicking.
func FuzzParse(f *testing.F) {
	f.Add(DefaultFile())
	f.Add([]byte(minimal))
	doc, err := os.ReadFile(filepath.Join("testdata", "accepted", "virt-install-q35-spice.xml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.toml", data)
		if err != nil {
			return
		}
		p.CheckAll(Domain, doc)
	})
}
