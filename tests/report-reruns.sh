#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Print the tests gotestsum had to rerun (its --rerun-fails-report), so a
# flaky test shows in the output of a green run.
report=$1
if [ -s "$report" ]; then
	echo "== tests rerun after a failure (flaky; see $report):"
	cat "$report"
else
	echo "== no test needed a rerun"
fi
