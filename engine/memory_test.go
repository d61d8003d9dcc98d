// SPDX-License-Identifier: Apache-2.0

package engine

import "testing"

func TestGCPercentFor(t *testing.T) {
	tests := []struct {
		live int64
		want int
	}{
		{0, 200},                                 // nothing alive yet: the daemon's own heap counts
		{baseHeap, 200},                          // an empty cache: 8 MiB of room
		{baseHeap + 10_000*cacheEntryBytes, 116}, // 10,000 cached
		{baseHeap + 65_536*cacheEntryBytes, 35},  // a full default cache
		{baseHeap + 100_000*cacheEntryBytes, 25}, // 24 by the room: the floor
		{1 << 40, 25},                            // anything larger: the floor
		{-1, 200},                                // nonsense counts as nothing
	}
	for _, tt := range tests {
		if got := GCPercentFor(tt.live); got != tt.want {
			t.Errorf("GCPercentFor(%d) = %d, want %d", tt.live, got, tt.want)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		cacheSize int
		want      int64
	}{
		{0, 28 << 20},
		{65_536, 28<<20 + 65_536*cacheEntryBytes},
		{-1, 28 << 20},
	}
	for _, tt := range tests {
		if got := MemoryLimit(tt.cacheSize); got != tt.want {
			t.Errorf("MemoryLimit(%d) = %d, want %d", tt.cacheSize, got, tt.want)
		}
	}
}
