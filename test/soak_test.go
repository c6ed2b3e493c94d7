//go:build system

package test

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"encoding/json"
	"strings"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soakDuration is how long TestSoak churns: SVINIT_SOAK (bench/soak runs
// an hour), 2 minutes by default (CI).
func soakDuration(t *testing.T) time.Duration {
	d := 2 * time.Minute
	if v := os.Getenv("SVINIT_SOAK"); v != "" {
		var err error
		d, err = time.ParseDuration(v)
		require.NoError(t, err, "SVINIT_SOAK")
	}
	return d
}

// The soak: 50 services under svinit as PID 1 — some crash on their own,
// some leave orphans behind — while the test sends random svc commands
// for the whole duration. Afterwards every service comes back up, and
// svinit's goroutines, fds and RSS are within 10 % of what they were after
// the warm-up; the maxima are logged.
func TestSoak(t *testing.T) {
	duration := soakDuration(t)
	services := map[string]files{}
	var dirs []string
	for i := 0; i < 50; i++ {
		name := fmt.Sprintf("s%02d", i)
		run := "exec sleep 1000"
		switch i % 5 {
		case 1: // crashes on its own now and then
			run = "sleep 1.$(($$ % 9)); exit $(($$ % 3))"
		case 2: // leaves orphans behind
			run = "while :; do sh -c 'sleep 0.2 &'; sleep 0.3; done"
		}
		services[name] = files{"run": sh(run)}
		dirs = append(dirs, name)
	}
	root := makeTree(t, services)
	addr := freeAddr(t)
	r := startTree(t, root, "--http", addr)
	pid := r.initPid()
	// Settled: every service wanted up, and the 40 that do not crash on
	// their own up (a crasher may be between two runs at any instant). A
	// service killed twice within a second waits in its backoff, 30 s at
	// most.
	allUp := func() bool {
		_, body := httpGet(addr, "/metrics")
		return metric(body, "svinit_service_want_up") == 50 && metric(body, "svinit_service_up") >= 40
	}
	require.Eventually(t, allUp, 20*time.Second, 50*time.Millisecond)

	rng := rand.New(rand.NewSource(1))
	began := time.Now()
	sentTo := map[string][]string{}
	commands := []string{"-k", "-t", "-h", "-d", "-u", "-o", "-p", "-c", "-i", "-1", "-2", "-a", "-q"}
	churn := func(d time.Duration) (n int) {
		for end := time.Now().Add(d); time.Now().Before(end); n++ {
			name := dirs[rng.Intn(len(dirs))]
			cmd := commands[rng.Intn(len(commands))]
			_, _ = tool(t, "svinit", "svc", cmd, filepath.Join(root, name))
			sentTo[name] = append(sentTo[name], fmt.Sprintf("%.3f %s", time.Since(began).Seconds(), cmd))
			time.Sleep(time.Duration(rng.Intn(40)) * time.Millisecond)
		}
		return n
	}
	settle := func() footprint {
		for _, d := range dirs {
			_, _ = tool(t, "svinit", "svc", "-cu", filepath.Join(root, d))
		}
		if !assert.Eventually(t, allUp, 45*time.Second, 50*time.Millisecond) {
			var dirsFull []string
			for _, d := range dirs {
				dirsFull = append(dirsFull, filepath.Join(root, d))
			}
			out, _ := tool(t, append([]string{"svinit", "svstat", "--json"}, dirsFull...)...)
			t.Fatalf("not settled:\n%s", unsettled(out, r.stderr.String(), sentTo))
		}
		time.Sleep(time.Second)
		return readFootprint(t, addr, pid)
	}

	// The warm-up is at least 10 s: svinit trims itself once start-up is
	// over, and the code the churn uses is mapped back in during it, so the
	// start figure is the working set, not the trimmed minimum.
	warmup := min(max(duration/10, 10*time.Second), 30*time.Second)
	churn(warmup)
	start := settle()

	var peak footprint
	sent := 0
	for end := time.Now().Add(duration); time.Now().Before(end); {
		sent += churn(time.Second)
		f := readFootprint(t, addr, pid)
		peak.goroutines = max(peak.goroutines, f.goroutines)
		peak.fds = max(peak.fds, f.fds)
		peak.rss = max(peak.rss, f.rss)
	}
	end := settle()
	_, body := httpGet(addr, "/metrics")
	t.Logf("soak %v: %d svc commands, %d restarts, %d orphans reaped; start %v; peak %d goroutines, %d fds, RSS %d KiB; end %v",
		duration, sent, metric(body, "svinit_service_restarts_total"), metric(body, "svinit_orphans_reaped_total"),
		start, peak.goroutines, peak.fds, peak.rss>>10, end)

	within := func(what string, a, b int64) {
		require.LessOrEqual(t, b, a+a/10, "%s: %d at the start, %d at the end", what, a, b)
	}
	within("goroutines", int64(start.goroutines), int64(end.goroutines))
	within("fds", int64(start.fds), int64(end.fds))
	within("RSS", start.rss, end.rss)
	require.Zero(t, zombieChildren(pid))
	r.signal(syscall.SIGTERM)
	require.Equal(t, 0, r.wait(15*time.Second))
}

// unsettled explains the services of svstat --json that are not up and
// wanted up: their status, the commands the soak sent them, and svinit's
// lines about them.
func unsettled(statusJSON, stderr string, sentTo map[string][]string) string {
	var b strings.Builder
	for _, line := range strings.Split(statusJSON, "\n") {
		var st serviceStatus
		if json.Unmarshal([]byte(line), &st) != nil || (st.State == "up" && st.Want == "up") {
			continue
		}
		name := filepath.Base(st.Name)
		fmt.Fprintf(&b, "%s\n  sent: %s\n", line, strings.Join(sentTo[name], ", "))
		for _, l := range strings.Split(stderr, "\n") {
			if strings.Contains(l, " "+name+": ") {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
	}
	return b.String()
}
