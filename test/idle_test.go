//go:build system

package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An idle svinit — services up, a logger, nothing happening — is never on a
// CPU: not its loop, not a timer, not the Go runtime's sysmon thread, which
// a plain `go build` wakes every minute (the tests run the release build,
// init/sysmon_quiet.go). The window is longer than that minute. The tree is
// on a local filesystem, where inotify alone watches it: even a short
// --rescan polls nothing.
func TestIdleNeverRuns(t *testing.T) {
	t.Parallel()
	root := makeTree(t, map[string]files{
		"a":     {"run": sh("exec sleep 1000")},
		"b":     {"run": sh("exec sleep 1000"), "log/run": sh("exec cat >/dev/null")},
		"ready": {"run": sh("exec sleep 1000"), "check": sh("exit 0")},
	})
	r := startNS(t, "-s", root, "--rescan", "5s")
	for _, s := range []string{"a", "b", "b/log", "ready"} {
		waitState(t, filepath.Join(root, s), isUp, s+" up")
	}
	pid := r.initPid()
	var before map[string]int64
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		prev := before
		before = threadRuns(c, pid)
		if assert.NotNil(c, prev, "a first reading") {
			assert.Zero(c, sumRuns(before, prev))
		}
	}, 30*time.Second, 1500*time.Millisecond, "svinit settles after start-up")
	time.Sleep(65 * time.Second) // the window measured, not a wait for an event
	after := threadRuns(t, pid)
	require.Zero(t, sumRuns(after, before), "times svinit's threads ran in 65 s of idleness: %v then %v", before, after)
}

// threadRuns is how many times each thread of pid has run on a CPU
// (/proc/PID/task/TID/schedstat, third field).
// It takes a require.TestingT so that an EventuallyWithT condition may call
// it with its CollectT (a thread may end between the listing and the read).
func threadRuns(t require.TestingT, pid int) map[string]int64 {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	require.NoError(t, err)
	runs := map[string]int64{}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		require.NoError(t, err)
		f := strings.Fields(string(b))
		require.Len(t, f, 3, "schedstat of thread %s: %q", task.Name(), b)
		runs[task.Name()], err = strconv.ParseInt(f[2], 10, 64)
		require.NoError(t, err)
	}
	return runs
}

// sumRuns is the runs in after that were not yet in before (a new thread
// counts in full).
func sumRuns(after, before map[string]int64) int64 {
	var n int64
	for tid, runs := range after {
		n += runs - before[tid]
	}
	return n
}
