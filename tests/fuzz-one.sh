#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# fuzz-one.sh PKG TARGET FUZZTIME MINTIME: fuzz one target (make fuzz).
#
# Go 1.26's fuzz coordinator can fail a target at the -fuzztime boundary
# with a bare "context deadline exceeded" and no failing input written
# (a race between the deadline and its workers, golang/go#75804, fixed in
# Go 1.27). Such a run, and only such a run, is run again once, and says
# so; a run that writes a failing input, or fails in any other way, fails.
set -u
pkg=$1 name=$2 fuzztime=$3 mintime=$4
corpus=$pkg/testdata/fuzz/$name
count() { ls "$corpus" 2>/dev/null | wc -l; }
before=$(count)
for try in 1 2; do
	out=$(go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$mintime" "$pkg" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	[ "$rc" -eq 0 ] && exit 0
	if [ "$try" -eq 2 ] || [ "$(count)" -ne "$before" ] ||
		! printf '%s\n' "$out" | grep -qx '    context deadline exceeded'; then
		exit "$rc"
	fi
	echo "== fuzz $pkg $name: Go's fuzz coordinator stopped at the deadline with no failing input (golang/go#75804); running it once more"
done
