// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Row is one figure.
type Row struct {
	Case    string  `json:"case"`
	Measure string  `json:"measure"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
}

// Target is one of the goals, with what this run measured.
type Target struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// Machine says where the figures come from.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Rules  string `json:"rules"`
	Date   string `json:"date"`
}

// Report is a run's results.
type Report struct {
	Machine Machine  `json:"machine"`
	Rows    []Row    `json:"rows"`
	Targets []Target `json:"targets"`

	lat  map[string]Latency
	rows map[string]float64 // case + "/" + measure: the value
}

func newReport() *Report {
	return &Report{Machine: machine(), lat: map[string]Latency{}, rows: map[string]float64{}}
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Date: time.Now().UTC().Format(time.DateOnly)}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	return m
}

func (r *Report) add(c, measure string, v float64, unit string) {
	r.Rows = append(r.Rows, Row{c, measure, v, unit})
	r.rows[c+"/"+measure] = v
}

// latency adds a loop of decisions' p50, p99 and rate.
func (r *Report) latency(c string, l Latency) { r.timing(c, l, "decisions/s") }

// timing adds a loop's p50, p99 and rate, counted in unit.
func (r *Report) timing(c string, l Latency, unit string) {
	r.lat[c] = l
	r.add(c, "p50", float64(l.P50.Nanoseconds())/1000, "µs")
	r.add(c, "p99", float64(l.P99.Nanoseconds())/1000, "µs")
	r.add(c, "one client in a row", l.PerSec, unit)
}

// Print writes the table as Markdown.
func (r *Report) Print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nMachine: %s, %d cores, Linux %s, %s, %s; rules: %s\n\n", m.CPU, m.Cores, m.Kernel, m.Go, m.Date, m.Rules)
	fmt.Fprintln(w, "| case | measure | value | unit |\n|---|---|---:|---|")
	for _, row := range r.Rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", row.Case, row.Measure, format(row.Value), row.Unit)
	}
	if len(r.Targets) == 0 {
		return
	}
	fmt.Fprintln(w, "\n| target | measured | met |\n|---|---|---|")
	for _, t := range r.Targets {
		met := "no"
		if t.Met {
			met = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.Goal, t.Measured, met)
	}
}

func format(v float64) string {
	if v >= 100 || v == float64(int64(v)) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// Write saves bench.json and bench.svg in dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "bench.svg"), []byte(r.chart()), 0o644)
}
