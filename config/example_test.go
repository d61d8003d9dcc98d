// SPDX-License-Identifier: Apache-2.0

package config_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/virt-acl-helper/virt-acl-helper/config"
)

func ExampleParse() {
	in := `# Local settings
access_drivers = [
  "polkit",
]
cache_deny_ttl = 5
`
	c, err := config.Parse(strings.NewReader(in), "virt-acl-helper.conf")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.AccessDrivers, c.CacheDenyTTL, c.CacheAllowTTL)
	// Output: [polkit] 5s 30s
}

func ExampleError() {
	_, err := config.Parse(strings.NewReader("cache_size = 1\ncache_sise = 2\n"), "virt-acl-helper.conf")
	fmt.Println(err)
	var e *config.Error
	if errors.As(err, &e) {
		fmt.Println(e.Line, e.Key)
	}
	// Output:
	// virt-acl-helper.conf:2: cache_sise: unknown key (did you mean cache_size?)
	// 2 cache_sise
}

func ExampleConfig_AccessControlDisabled() {
	c, _ := config.Parse(strings.NewReader(`access_drivers = [ "none" ]`), "virt-acl-helper.conf")
	if c.AccessControlDisabled() {
		fmt.Println("warning: access control is disabled")
	}
	// Output: warning: access control is disabled
}
