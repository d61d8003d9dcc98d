// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"fmt"
	"math"
	"strings"
)

// chart draws the decision latencies (p50 and p99) as horizontal bars on a
// logarithmic axis, from 1 µs to 100 ms, since they span four orders of
// magnitude. It is plain SVG written here: one chart did not justify a
// plotting library and its dependencies in the module.
func (r *Report) chart() string {
	cases := []string{rawRoundTrip, rawAuditedTrip, caseOnBehalfOff, caseOnBehalfOn, caseSelfOn,
		"socket uncached, audit off", "socket uncached, audit on", "polkit direct"}
	const left, width, rowH, top = 220.0, 520.0, 44.0, 40.0
	x := func(us float64) float64 { return left + width*math.Log10(math.Max(us, 1))/5 }
	height := top + rowH*float64(len(cases)) + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", left+width+60, height)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14">Decision latency, µs (log scale): p50 dark, p99 light. %s, %d cores</text>`+"\n",
		escape(r.Machine.CPU), r.Machine.Cores)
	for i, c := range cases {
		l, ok := r.lat[c]
		if !ok {
			continue
		}
		y := top + rowH*float64(i)
		p50, p99 := float64(l.P50.Nanoseconds())/1000, float64(l.P99.Nanoseconds())/1000
		fmt.Fprintf(&b, `<text x="10" y="%.0f">%s</text>`+"\n", y+20, escape(c))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.1f" height="14" fill="#9ecae1"/>`+"\n", left, y+4, x(p99)-left)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.1f" height="14" fill="#3182bd"/>`+"\n", left, y+20, x(p50)-left)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%.0f / %.0f</text>`+"\n", x(p99)+4, y+16, p50, p99)
	}
	axis := top + rowH*float64(len(cases)) + 10
	for e := 0; e <= 5; e++ {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ccc"/>`+"\n", x(math.Pow10(e)), top, x(math.Pow10(e)), axis)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", x(math.Pow10(e)), axis+16, []string{"1", "10", "100", "1k", "10k", "100k"}[e])
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
