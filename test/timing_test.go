//go:build system

package test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Timed tests check behaviour, not the machine's speed. A bound on wall-clock
// time comes from one of svinit's own promises (the shutdown deadline, the
// backoff it must not wait for), plus the lateness this machine shows right
// now (machineLag); work whose length depends on the CPU is waited for while
// it makes progress (waitProgress). Speed goals live in bench/.

// machineLag runs "sleep D" beside the work being timed; the function it
// returns says how late that sleep came back: the scheduling and fork/exec
// delay the machine adds to any timed step at the moment (near 0 when quiet,
// seconds under load).
func machineLag(d time.Duration) func() time.Duration {
	ch := make(chan time.Duration, 1)
	go func() {
		began := time.Now()
		_ = exec.Command("sleep", strconv.FormatFloat(d.Seconds(), 'f', 3, 64)).Run()
		ch <- time.Since(began) - d
	}()
	return func() time.Duration { return <-ch }
}

// waitProgress waits until read() reaches want. It fails only when the count
// stops moving for stall: a slow or busy machine takes longer, a stuck
// svinit fails.
func waitProgress(t *testing.T, what string, want int64, stall time.Duration, read func() int64) {
	t.Helper()
	last, lastAt := int64(-1), time.Now()
	for {
		n := read()
		if n >= want {
			return
		}
		if n > last {
			last, lastAt = n, time.Now()
		}
		require.Less(t, time.Since(lastAt), stall, "%s: stuck at %d of %d", what, n, want)
		time.Sleep(50 * time.Millisecond)
	}
}

// countIn reads the number a helper writes into file (0 while there is none).
func countIn(file string) int64 {
	b, _ := os.ReadFile(file)
	n, _ := strconv.ParseInt(strings.Fields(string(b) + " 0")[0], 10, 64)
	return n
}

// jsonLogTime is the time svinit (--log-format json) wrote the first line
// of stderr whose message contains msg.
func jsonLogTime(t *testing.T, stderr, msg string) time.Time {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		var rec struct{ Time, Message string }
		if json.Unmarshal([]byte(line), &rec) == nil && strings.Contains(rec.Message, msg) {
			at, err := time.Parse(time.RFC3339Nano, rec.Time)
			require.NoError(t, err, line)
			return at
		}
	}
	require.FailNow(t, fmt.Sprintf("no %q in stderr", msg), stderr)
	return time.Time{}
}

// zombiePids lists the children of pid that are zombies.
func zombiePids(pid int) []int {
	var out []int
	for _, c := range children(pid) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(c) + "/stat")
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 && len(s) > i+2 && s[i+2] == 'Z' {
			out = append(out, c)
		}
	}
	return out
}

// exitCode runs a client program ("svinit APPLET" or a Debian one) like
// tool, without require: for the condition of an EventuallyWithT.
func exitCode(argv ...string) (string, int) {
	out, code, err := combined(command(argv...))
	if err != nil {
		return err.Error(), -1
	}
	return out, code
}
