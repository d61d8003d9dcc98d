package testsys

import (
	"os"
	"testing"
)

func TestParseStartTime(t *testing.T) {
	tail := " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20 21\n"
	tests := []struct {
		name    string
		stat    string
		want    uint64
		wantErr bool
	}{
		{name: "plain", stat: "123 (sleep)" + tail, want: 424242},
		{name: "spaces in comm", stat: "123 (my prog)" + tail, want: 424242},
		{name: "parentheses in comm", stat: "123 (a) (b) 9 9)" + tail, want: 424242},
		{name: "no comm", stat: "123 sleep S 1", wantErr: true},
		{name: "truncated", stat: "123 (sleep) S 1 2 3", wantErr: true},
		{name: "not a number", stat: "123 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStartTime([]byte(tt.stat))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseStartTime(%q) = %d, want an error", tt.stat, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseStartTime(%q) = %d, %v; want %d", tt.stat, got, err, tt.want)
			}
		})
	}
}

func TestProcStartTimeSelf(t *testing.T) {
	st, err := ProcStartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st == 0 {
		t.Fatal("start time of this process is 0")
	}
	if _, err := ProcStartTime(-1); err == nil {
		t.Fatal("ProcStartTime(-1) succeeded")
	}
}

func TestUniqueUserName(t *testing.T) {
	a, b := uniqueUserName("alice"), uniqueUserName("alice")
	if a == b {
		t.Fatalf("two users share the name %s", a)
	}
	long := uniqueUserName("a-very-long-name-that-does-not-fit-at-all")
	if len(long) > maxUserName || !userName.MatchString(long) {
		t.Fatalf("uniqueUserName gave %q (%d chars)", long, len(long))
	}
}
