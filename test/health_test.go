//go:build system

package test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chmodX makes scripts executable (writeService does so for run, finish,
// check).
func chmodX(t *testing.T, paths ...string) {
	for _, p := range paths {
		require.NoError(t, os.Chmod(p, 0o755))
	}
}

// count is how many lines of path are exactly line.
func count(path, line string) int {
	n := 0
	for _, l := range lines(path) {
		if l == line {
			n++
		}
	}
	return n
}

// An exec health probe that fails for one ./run: that run is marked
// unhealthy after exactly health-retries failed probes, stopped through its
// down-signal and restarted; the new run is healthy. The probe's output is
// in svinit's log and in svstat.
func TestHealthProbeRestarts(t *testing.T) {
	dir := t.TempDir()
	root := makeTree(t, map[string]files{
		"web": {
			"run": sh("echo $$ > " + dir + "/pid; exec sleep 1000"),
			// fails while a file named after the current ./run exists
			"health":          sh("p=$(cat " + dir + "/pid); if test -e " + dir + "/fail-$p; then echo \"fail $p\" >> " + dir + "/probes; echo probe says no; exit 1; fi; echo \"ok $p\" >> " + dir + "/probes"),
			"health-interval": "100ms",
			"health-timeout":  "2s",
			"health-retries":  "3",
		},
	})
	chmodX(t, filepath.Join(root, "web", "health"))
	r := startTree(t, root)
	svc := filepath.Join(root, "web")
	first := waitState(t, svc, func(st serviceStatus) bool { return isUp(st) && st.Health == "healthy" }, "healthy")
	pid := strings.TrimSpace(readFile(dir + "/pid"))
	require.NoError(t, os.WriteFile(dir+"/fail-"+pid, nil, 0o644))
	second := waitState(t, svc, func(st serviceStatus) bool { return isUp(st) && st.Pid != first.Pid }, "restarted")
	require.Equal(t, 3, count(dir+"/probes", "fail "+pid), "exactly health-retries failed probes: %q", lines(dir+"/probes"))
	require.Equal(t, 1, second.Restarts, "the health restart is counted")
	waitState(t, svc, func(st serviceStatus) bool { return st.Health == "healthy" }, "healthy again")
	require.Contains(t, r.stderr.String(), "web: unhealthy: 3 health probes failed in a row, restarting it; the last said: exit 1: probe says no")
	require.Contains(t, r.stderr.String(), "web: ./run exited after")
}

// health-action mark: unhealthy is shown (svstat, --json) and the service
// left running; a passing probe makes it healthy again. A built-in HTTP
// probe: 2xx passes, 500 fails, no fork.
func TestHealthMarkOnlyHTTP(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	root := makeTree(t, map[string]files{
		"api": {
			"run":             sh("exec sleep 1000"),
			"health-http":     srv.URL + "/healthz",
			"health-interval": "50ms",
			"health-retries":  "2",
			"health-action":   "mark",
		},
	})
	r := startTree(t, root)
	svc := filepath.Join(root, "api")
	up := waitState(t, svc, func(st serviceStatus) bool { return st.Health == "healthy" }, "healthy")
	status.Store(500)
	sick := waitState(t, svc, func(st serviceStatus) bool { return st.Health == "unhealthy" }, "unhealthy")
	require.Equal(t, up.Pid, sick.Pid, "left running")
	require.Equal(t, "GET "+srv.URL+"/healthz: 500 Internal Server Error", sick.HealthOutput)
	out, _ := tool(t, "svinit", "svstat", svc)
	require.Contains(t, out, ", unhealthy: GET "+srv.URL+"/healthz: 500")
	status.Store(204)
	back := waitState(t, svc, func(st serviceStatus) bool { return st.Health == "healthy" }, "healthy again")
	require.Equal(t, up.Pid, back.Pid)
	require.Zero(t, back.Restarts)
	// the lines reach r.stderr through a pipe and a goroutine of the test's:
	// perhaps after svstat saw the state they go with
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Contains(c, r.stderr.String(), "api: unhealthy: 2 health probes failed in a row, left running (health-action mark)")
		assert.Contains(c, r.stderr.String(), "api: healthy again: GET "+srv.URL+"/healthz: 204 No Content")
	}, 10*time.Second, 20*time.Millisecond)
}

// A probe that hangs is killed at its timeout with its whole process group
// (the sleep it started too) and counts as a failure; a built-in TCP probe
// to a closed port fails with the reason; a probe that cannot start is a
// failure with the reason.
func TestHealthProbeFailures(t *testing.T) {
	dir := t.TempDir()
	closed := freeAddr(t) // nothing listens there
	root := makeTree(t, map[string]files{
		"hang": {
			"run":             sh("exec sleep 1000"),
			"health":          sh("sleep 1000 & echo $! >> " + dir + "/probe-sleeps; wait"),
			"health-interval": "50ms",
			"health-timeout":  "200ms",
			"health-retries":  "2",
			"health-action":   "mark",
		},
		"tcp": {
			"run":             sh("exec sleep 1000"),
			"health-tcp":      closed,
			"health-interval": "50ms",
			"health-retries":  "2",
			"health-action":   "mark",
		},
		"noexec": {
			"run":             sh("exec sleep 1000"),
			"health-interval": "50ms",
			"health-retries":  "1",
			"health-action":   "mark",
		},
	})
	require.NoError(t, os.WriteFile(filepath.Join(root, "noexec", "health"), []byte("#!/bin/sh\nexit 0\n"), 0o644))
	chmodX(t, filepath.Join(root, "hang", "health"))
	startTree(t, root)
	st := waitState(t, filepath.Join(root, "hang"), func(st serviceStatus) bool { return st.Health == "unhealthy" }, "hang: unhealthy")
	require.Regexp(t, `^timed out after 2\d\dms: killed`, st.HealthOutput)
	for _, l := range lines(dir + "/probe-sleeps") {
		pid, err := strconv.Atoi(l)
		require.NoError(t, err)
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			// the probe's sleep wrote its namespace pid
			assert.NotContains(c, psTree(), fmt.Sprintf(" %d sleep 1000 ", pid))
		}, 10*time.Second, 20*time.Millisecond)
	}
	st = waitState(t, filepath.Join(root, "tcp"), func(st serviceStatus) bool { return st.Health == "unhealthy" }, "tcp: unhealthy")
	require.Equal(t, "connect to "+closed+": connection refused", st.HealthOutput)
	st = waitState(t, filepath.Join(root, "noexec"), func(st serviceStatus) bool { return st.Health == "unhealthy" }, "noexec: unhealthy")
	require.Equal(t, "unable to start "+filepath.Join(root, "noexec", "health")+": not executable (chmod +x health)", st.HealthOutput)
}

// The built-in probes run on svinit's loop, no goroutine each: an HTTP
// server that accepts and never answers fails the probe at health-timeout;
// a host given by name is looked up (localhost: its addresses tried in
// turn until one connects); check-http makes a service ready.
func TestHealthBuiltinProbes(t *testing.T) {
	mute, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	require.NoError(t, err)
	defer mute.Close()
	var mu sync.Mutex
	var held []net.Conn
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	open, err := net.Listen("tcp", "127.0.0.1:0") // accepts and closes
	require.NoError(t, err)
	defer open.Close()
	go func() {
		for {
			c, err := open.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(open.Addr().String())
	root := makeTree(t, map[string]files{
		"mute": {
			"run":             sh("exec sleep 1000"),
			"health-http":     "http://" + mute.Addr().String() + "/healthz",
			"health-interval": "50ms",
			"health-timeout":  "300ms",
			"health-retries":  "1",
			"health-action":   "mark",
		},
		"named": {
			"run":             sh("exec sleep 1000"),
			"health-tcp":      "localhost:" + port,
			"health-interval": "50ms",
		},
		"ready": {
			"run":        sh("exec sleep 1000"),
			"check-http": srv.URL + "/ready",
		},
	})
	startTree(t, root)
	st := waitState(t, filepath.Join(root, "mute"), func(st serviceStatus) bool { return st.Health == "unhealthy" }, "mute: unhealthy")
	require.Equal(t, "GET http://"+mute.Addr().String()+"/healthz: no status line: timed out", st.HealthOutput)
	st = waitState(t, filepath.Join(root, "named"), func(st serviceStatus) bool { return st.Health == "healthy" }, "named: healthy")
	require.Equal(t, "connected to localhost:"+port, st.HealthOutput)
	waitState(t, filepath.Join(root, "ready"), func(st serviceStatus) bool { return isUp(st) && st.Ready }, "ready: ready")
}

// psTree lists " NSPID COMMAND " for the processes of svinit's namespaces
// seen from the host: enough to see whether a probe's child is left.
func psTree() string {
	var b strings.Builder
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		status, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		for _, l := range strings.Split(string(status), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "NSpid:" {
				fmt.Fprintf(&b, " %s %s \n", f[len(f)-1], strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")))
			}
		}
	}
	return b.String()
}

// A oneshot runs to completion before the longrun that depends on it;
// svstat says done; it is not run again until asked (svc -u).
func TestOneshotBeforeLongrun(t *testing.T) {
	dir := t.TempDir()
	root := makeTree(t, map[string]files{
		"migrate": {"type": "oneshot", "run": sh("sleep 0.3; echo migrated >> " + dir + "/log")},
		"app":     {"run": sh("echo \"app sees $(cat " + dir + "/log)\" >> " + dir + "/log; exec sleep 1000"), "depends": "migrate\n"},
	})
	startTree(t, root)
	waitState(t, filepath.Join(root, "app"), isUp, "app up")
	require.Equal(t, []string{"migrated", "app sees migrated"}, waitLines(t, dir+"/log", 2))
	st := statusOf(t, filepath.Join(root, "migrate"))
	require.Equal(t, "done", st.State)
	require.True(t, st.Ready)
	require.Equal(t, "oneshot", st.Kind)
	out, _ := tool(t, "svinit", "svstat", filepath.Join(root, "migrate"))
	require.Contains(t, out, ", done")
	_, code := tool(t, "svinit", "svwait", "-U", "-t", "1000", filepath.Join(root, "migrate"))
	require.Equal(t, 0, code, "done is ready")
	_, code = tool(t, "svinit", "svc", "-u", filepath.Join(root, "migrate"))
	require.Equal(t, 0, code)
	waitLines(t, dir+"/log", 3)
	require.Equal(t, "migrated", lines(dir + "/log")[2], "svc -u runs it again")
}

// A failing oneshot is retried after the backoff until it succeeds, and
// only then does its dependent start; an essential one with no
// max-restarts brings the container down with its exit code.
func TestOneshotFailing(t *testing.T) {
	dir := t.TempDir()
	root := makeTree(t, map[string]files{
		"flaky": {"type": "oneshot", "run": sh("echo try >> " + dir + "/tries; test $(wc -l < " + dir + "/tries) -ge 3")},
		"app":   {"run": sh("echo start >> " + dir + "/app; exec sleep 1000"), "depends": "flaky\n"},
	})
	startTree(t, root)
	waitState(t, filepath.Join(root, "app"), isUp, "app up after flaky succeeded")
	require.Len(t, lines(dir+"/tries"), 3)
	require.Equal(t, []string{"start"}, lines(dir+"/app"))
	require.Equal(t, "done", statusOf(t, filepath.Join(root, "flaky")).State)

	root = makeTree(t, map[string]files{
		"setup": {"type": "oneshot", "essential": "", "run": sh("echo cannot; exit 7")},
		"app":   {"run": sh("exec sleep 1000"), "depends": "setup\n"},
	})
	r := startTree(t, root)
	require.Equal(t, 7, r.wait(20*time.Second), "stderr: %s", r.stderr)
	require.Contains(t, r.stderr.String(), "essential service setup gave up (exit code 7)")
}

// At the shutdown a oneshot's ./undo runs after the services that depend on
// it have exited (reverse dependency order), then svinit exits.
func TestOneshotUndo(t *testing.T) {
	dir := t.TempDir()
	log := dir + "/log"
	root := makeTree(t, map[string]files{
		"mount": {"type": "oneshot", "run": sh("echo up >> " + log), "undo": sh("echo undo >> " + log)},
		"app": {"run": sh("trap 'echo app-term >> " + log + "; sleep 0.2; echo app-exit >> " + log + "; exit 0' TERM; sleep 1000 & wait"),
			"depends": "mount\n"},
	})
	chmodX(t, filepath.Join(root, "mount", "undo"))
	r := startTree(t, root)
	waitState(t, filepath.Join(root, "app"), isUp, "app up")
	r.signal(syscall.SIGTERM)
	require.Equal(t, 0, r.wait(20*time.Second), "stderr: %s", r.stderr)
	require.Equal(t, []string{"up", "app-term", "app-exit", "undo"}, lines(log))
}

// A scheduled job (@every 1s) runs at its times, never two at once: a job
// that takes 1.5 s skips the ticks in between (and says so); svstat shows
// the next run. A bad schedule is an error naming the file; only that job
// is not scheduled.
func TestScheduledJob(t *testing.T) {
	dir := t.TempDir()
	root := makeTree(t, map[string]files{
		"job":  {"schedule": "@every 1s", "run": sh("echo \"start $(date +%s.%N)\" >> " + dir + "/runs; sleep 1.5; echo \"end $(date +%s.%N)\" >> " + dir + "/runs")},
		"bad":  {"schedule": "*/61 * * *", "run": sh("echo ran >> " + dir + "/bad")},
		"idle": {"schedule": "@hourly", "run": sh("true")},
	})
	r := startTree(t, root)
	st := waitState(t, filepath.Join(root, "idle"), func(st serviceStatus) bool { return st.Kind == "scheduled" }, "scheduled")
	require.Equal(t, "down", st.State)
	require.InDelta(t, time.Now().Truncate(time.Hour).Add(time.Hour).Unix(), st.NextRun, 1)
	out, _ := tool(t, "svinit", "svstat", filepath.Join(root, "idle"))
	require.Contains(t, out, ", next run in ")
	// three runs, start and end: about 7 s by the schedule's own clock
	// (ticks every second, 1.5 s runs, the ticks in between skipped); the
	// bound leaves room for a machine several times slower than this one
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, len(lines(dir+"/runs")), 6)
	}, 60*time.Second, 20*time.Millisecond)
	ls := lines(dir + "/runs")
	var prevEnd float64
	for i := 0; i+1 < 6; i += 2 {
		s, e := stamps(t, ls[i:i+1])[0], stamps(t, ls[i+1:i+2])[0]
		require.True(t, strings.HasPrefix(ls[i], "start ") && strings.HasPrefix(ls[i+1], "end "), "%q", ls)
		require.GreaterOrEqual(t, s, prevEnd, "never two at once: %q", ls)
		prevEnd = e
	}
	require.Contains(t, r.stderr.String(), "job: scheduled run skipped: the last one")
	require.Contains(t, r.stderr.String(), filepath.Join(root, "bad")+"/schedule: not a schedule")
	require.NoFileExists(t, dir+"/bad")
	require.Contains(t, statusOf(t, filepath.Join(root, "bad")).LastError, "not scheduled")
}
