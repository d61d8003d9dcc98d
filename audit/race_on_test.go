// SPDX-License-Identifier: Apache-2.0

//go:build race

package audit

// raceDetector: the race detector slows the writer several times over.
const raceDetector = true
