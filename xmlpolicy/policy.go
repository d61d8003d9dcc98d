// SPDX-License-Identifier: Apache-2.0

package xmlpolicy

import (
	_ "embed"
	"fmt"
	"os"
)

// DefaultPath is where the packages install the policy file.
const DefaultPath = "/etc/virt-acl-helper/xml-policy.toml"

//go:embed default.toml
var defaultFile []byte

// Policy is a loaded content policy. It is immutable once loaded and safe
// for concurrent use.
type Policy struct {
	name     string
	lim      limits
	pools    []string
	networks []string
	elems    map[string]*elemRule // by path from the root: "domain/devices/disk"
}

// Default returns the built-in policy, parsed from the shipped default
// file (the same bytes the packages install as DefaultPath).
func Default() *Policy {
	p, err := Parse("default.toml", defaultFile)
	if err != nil {
		// The file is embedded and tested: this is a build defect.
		panic(fmt.Sprintf("xmlpolicy: built-in default policy: %v", err))
	}
	return p
}

// DefaultFile returns the bytes of the built-in default policy file.
func DefaultFile() []byte { return append([]byte(nil), defaultFile...) }

// Load reads and parses the policy file at path.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}
