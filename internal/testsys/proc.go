package testsys

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// ProcStartTime returns the start time of process pid as polkit's
// unix-process subject wants it: field 22 of /proc/PID/stat, in clock ticks
// after boot.
func ProcStartTime(pid int) (uint64, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read start time of pid %d: %w", pid, err)
	}
	st, err := parseStartTime(stat)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return st, nil
}

// parseStartTime extracts field 22 of a /proc/PID/stat line. Field 2, the
// command name, is in parentheses and may itself hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStartTime(stat []byte) (uint64, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("no command name in %q", stat)
	}
	// After ')' come fields 3 (state) onwards; start time is field 22.
	fields := bytes.Fields(stat[end+1:])
	const index = 22 - 3
	if len(fields) <= index {
		return 0, fmt.Errorf("only %d fields after the command name", len(fields))
	}
	st, err := strconv.ParseUint(string(fields[index]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("start time: %w", err)
	}
	return st, nil
}

// procUID returns the effective uid of process pid (the owner of /proc/PID).
func procUID(pid int) (uint32, error) {
	fi, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	if err != nil {
		return 0, fmt.Errorf("uid of pid %d: %w", pid, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("uid of pid %d: no stat data", pid)
	}
	return st.Uid, nil
}

// procState describes what process pid is doing, for the message of a
// daemon that did not become ready: its state and the kernel function it
// waits in.
func procState(pid int) string {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "gone"
	}
	state := "unknown"
	for _, line := range bytes.Split(status, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("State:")); ok {
			state = string(bytes.TrimSpace(v))
		}
	}
	wchan, _ := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", pid))
	return fmt.Sprintf("state %s, waiting in %q", state, wchan)
}
