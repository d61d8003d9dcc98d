// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to the parser: it must not panic, an
// error must name the file, and a policy it accepts must render a rule
// whose grants are all on one line each (no comment or string escapes
// into the code).
func FuzzParse(f *testing.F) {
	f.Add(mainFile)
	f.Add(dropIn)
	f.Add("[role.x]\ndomain = [\"*\"]\n[[grant]]\nrole = \"x\"\ngroup = \"vmops\"\nnetwork = \"*\"\nname = \"a\\u2028b */ \\\"\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		pol, err := Parse([]string{"f.toml"}, map[string][]byte{"f.toml": []byte(text)}, accts)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.toml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		r := Render(pol)
		if n := strings.Count(string(r.Text), "\n        {role: "); n != len(pol.Grants) {
			t.Fatalf("%d grant lines for %d grants:\n%s", n, len(pol.Grants), r.Text)
		}
	})
}
