// SPDX-License-Identifier: Apache-2.0

package xdrgen

import (
	"strings"
	"testing"
)

const testHeader = `
# define VIR_UUID_BUFLEN (16)
# define VIR_LABEL_BUFLEN (4096 + 1)
#define VIR_FUNC(x) (x)
typedef enum {
    VIR_A = 1 << 0, /* comment, with comma */
    VIR_B = (1 << 1),
    VIR_AB = VIR_A | VIR_B,
    VIR_NEXT, // auto
# ifdef VIR_ENUM_SENTINELS
    VIR_LAST
# endif
} virThing;
enum { VIR_Z, VIR_Y };
typedef enum {
    VIR_BIG = 1U << 31,
    VIR_NEG = -1,
    VIR_NOT = ~0,
} virMore;
`

func TestCConsts(t *testing.T) {
	c := NewCConsts()
	if err := c.AddHeader("t.h", testHeader); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{
		"VIR_UUID_BUFLEN": 16, "VIR_LABEL_BUFLEN": 4097, "VIR_A": 1, "VIR_B": 2, "VIR_AB": 3,
		"VIR_NEXT": 4, "VIR_LAST": 5, "VIR_Z": 0, "VIR_Y": 1, "VIR_BIG": 1 << 31, "VIR_NEG": -1, "VIR_NOT": -1,
	} {
		got, err := c.Eval(name)
		if err != nil || got != want {
			t.Errorf("%s = %d, %v; want %d", name, got, err, want)
		}
	}
	for _, name := range []string{"VIR_FUNC", "VIR_MISSING"} {
		if _, err := c.Eval(name); err == nil {
			t.Errorf("Eval(%s) succeeded", name)
		}
	}
}

func TestCConstErrors(t *testing.T) {
	c := NewCConsts()
	src := "#define A B\n#define B A\n#define D 1\n#define D 2\n#define E (1 << 64)\n#define F 1 +\n#define G sizeof(int)\n"
	if err := c.AddHeader("t.h", src); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"A": "in terms of itself", "D": "more than once", "E": "shift", "F": "ends early", "G": "sizeof is not defined",
	} {
		if _, err := c.Eval(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Eval(%s): %v, want %q", name, err, want)
		}
	}
}
