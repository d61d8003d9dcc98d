// SPDX-License-Identifier: Apache-2.0

// Package bench measures the helper end to end: the built daemon over its
// socket, against a real polkitd with a realistic rules file and a real
// auditd, beside polkit asked directly as libvirt asks it. It is a test
// behind the "bench" build tag, so it never runs with the unit tests and
// never touches the production binary:
//
//	make bench    # go test -tags bench -run TestBench -v ./bench
//
// It prints a table and writes results/bench.json and results/bench.svg.
package bench
