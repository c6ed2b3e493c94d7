// Package procs has the small /proc and clock helpers the benchmark
// programs share.
package procs

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Children lists the children of pid (all its threads').
func Children(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var out []int
	for _, t := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		for _, f := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
	}
	return out
}

// KiB reads a "Key: N kB" line of a /proc file.
func KiB(path, key string) int { return Field(path, key) }

// Field reads the number of a "Key: N" line of a /proc file.
func Field(path, key string) int {
	b, _ := os.ReadFile(path)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key) {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return 0
}

// CPUTime sums the time on CPU of every thread of pid (schedstat, ns).
func CPUTime(pid int) int64 { return schedstat(pid, 0) }

// Runs sums the times every thread of pid was put on a CPU (schedstat).
func Runs(pid int) int64 { return schedstat(pid, 2) }

// schedstat sums field i of /proc/PID/task/*/schedstat.
func schedstat(pid, i int) int64 {
	var total int64
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if f := strings.Fields(string(b)); len(f) > i {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			total += n
		}
	}
	return total
}

// Switches sums the context switches of every thread of pid.
func Switches(pid int) int64 {
	var total int64
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		st := fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name())
		total += int64(Field(st, "voluntary_ctxt_switches:") + Field(st, "nonvoluntary_ctxt_switches:"))
	}
	return total
}

// Mono is CLOCK_MONOTONIC in nanoseconds, comparable across processes.
func Mono() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// Kernel is the running kernel's release.
func Kernel() string {
	var u unix.Utsname
	_ = unix.Uname(&u)
	return unix.ByteSliceToString(u.Release[:])
}
