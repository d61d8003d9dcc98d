// SPDX-License-Identifier: Apache-2.0

package engine

import "testing"

func TestGCPercent(t *testing.T) {
	tests := []struct {
		cacheSize int
		want      int
	}{
		{0, 100},         // no cache: Go's default
		{10_000, 100},    // 7 MiB full: room enough
		{65_536, 52},     // the default cache_size
		{200_000, 25},    // 19 by the room: the floor
		{10_000_000, 25}, // the largest cache_size
		{-1, 100},        // nonsense counts as none
	}
	for _, tt := range tests {
		if got := GCPercent(tt.cacheSize); got != tt.want {
			t.Errorf("GCPercent(%d) = %d, want %d", tt.cacheSize, got, tt.want)
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
