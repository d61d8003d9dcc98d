// SPDX-License-Identifier: Apache-2.0

package roles

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestRenderGolden compares the rendered rule with testdata/roles.rules.
// Regenerate it with VIRT_ACL_HELPER_GOLDEN=update go test ./roles after
// checking the difference.
func TestRenderGolden(t *testing.T) {
	got := Render(testPolicy(t))
	const golden = "testdata/roles.rules"
	if os.Getenv("VIRT_ACL_HELPER_GOLDEN") == "update" {
		if err := os.WriteFile(golden, got.Text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Text, want) {
		t.Errorf("rendered rule differs from %s:\n%s", golden, got.Text)
	}
	if !bytes.Contains(got.Text, []byte(`action.lookup("virt_acl_helper_roles_probe") === "`+got.Digest+`"`)) {
		t.Errorf("the probe does not test the digest %s", got.Digest)
	}
}

func TestRenderDeterministic(t *testing.T) {
	a, b := Render(testPolicy(t)), Render(testPolicy(t))
	if !bytes.Equal(a.Text, b.Text) || a.Digest != b.Digest {
		t.Fatal("two renderings of one policy differ")
	}
	other := testPolicy(t)
	other.Grants = other.Grants[1:]
	if Render(other).Digest == a.Digest {
		t.Fatal("a different policy has the same digest")
	}
}

func TestRenderQuotes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a"b`, `"a\"b"`},
		{"a\u2028b", `"a\u2028b"`},
		{"</script>", `"\u003c/script\u003e"`},
		{"a\nb", `"a\nb"`},
	}
	for _, tt := range tests {
		if got := js(tt.in); got != tt.want {
			t.Errorf("js(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := comment("x\ny\u2028z"); strings.ContainsAny(got, "\n\u2028") {
		t.Errorf("comment kept a line end: %q", got)
	}
}
