//go:build system

package test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	pid1 "github.com/svinit/svinit/init"
)

// A service that is killed after living more than a second restarts at once
// with a new pid; one that dies quickly waits 1 s, then 2 s, then 4 s.
func TestRestartAndBackoff(t *testing.T) {
	out := t.TempDir()
	root := makeTree(t, map[string]files{
		"steady": {"run": sh("exec sleep 1000")},
		"crashy": {"run": sh("echo start $(date +%s.%N) >> " + out + "/crashy; exit 3")},
	})
	startTree(t, root)
	steady := filepath.Join(root, "steady")
	first := waitState(t, steady, isUp, "up")
	time.Sleep(1100 * time.Millisecond) // lived ≥ 1 s: the next start is at once
	lag := machineLag(500 * time.Millisecond)
	_, _ = tool(t, "svc", "-k", steady)
	began := time.Now()
	second := waitState(t, steady, func(s serviceStatus) bool { return isUp(s) && s.Pid != first.Pid }, "restarted")
	require.Less(t, time.Since(began), time.Second+lag(), "at once, not after the 1 s backoff")
	require.Equal(t, 1, second.Restarts)
	require.Equal(t, "signal 9 (SIGKILL)", second.LastExit)

	lag = machineLag(7 * time.Second) // the three backoffs
	starts := stamps(t, waitLines(t, filepath.Join(out, "crashy"), 4))
	late := lag().Seconds()
	for i, want := range []float64{1, 2, 4} {
		gap := starts[i+1] - starts[i]
		require.GreaterOrEqual(t, gap, want-0.5, "gap %d between starts: %v", i, starts)
		require.LessOrEqual(t, gap, want+0.5+late, "gap %d between starts: %v (the machine %.3fs late)", i, starts, late)
	}
	st := statusOf(t, filepath.Join(root, "crashy"))
	require.Equal(t, "exit 3", st.LastExit)
	require.GreaterOrEqual(t, st.Restarts, 3)
}

// svc -d during a backoff takes effect at once: no further start.
func TestDownDuringBackoff(t *testing.T) {
	out := filepath.Join(t.TempDir(), "starts")
	root := makeTree(t, map[string]files{"crashy": {"run": sh("echo x >> " + out + "; exit 1")}})
	startTree(t, root)
	dir := filepath.Join(root, "crashy")
	waitLines(t, out, 2) // now waiting 2 s
	waitState(t, dir, func(s serviceStatus) bool { return s.State == "backoff" }, "backoff")
	svstat, _ := tool(t, "svinit", "svstat", dir)
	require.Regexp(t, `^`+dir+`: down \d+ seconds, normally up, want up, backoff [12]s\n$`, svstat)
	_, _ = tool(t, "svc", "-d", dir)
	st := waitState(t, dir, func(s serviceStatus) bool { return s.State == "down" && s.Want == "down" }, "down at once")
	require.Zero(t, st.Pid)
	time.Sleep(2500 * time.Millisecond)
	require.Len(t, lines(out), 2, "no start after svc -d")
}

// ./down: not started at boot; u starts it, o runs it once, p/c pause it.
func TestDownOncePause(t *testing.T) {
	out := filepath.Join(t.TempDir(), "starts")
	root := makeTree(t, map[string]files{
		"lazy": {"down": "", "run": sh("echo start >> " + out + "; exec sleep 1000")},
	})
	startTree(t, root)
	dir := filepath.Join(root, "lazy")
	st := waitState(t, dir, func(s serviceStatus) bool { return s.Normally == "down" }, "supervised")
	require.Equal(t, "down", st.State)
	require.Equal(t, "down", st.Want)
	require.Nil(t, lines(out))

	_, _ = tool(t, "svc", "-u", dir)
	up := waitState(t, dir, isUp, "up after svc -u")
	_, _ = tool(t, "svc", "-p", dir)
	waitState(t, dir, func(s serviceStatus) bool { return s.Paused }, "paused")
	require.Equal(t, "T", procState(t, root, up.Pid))
	_, _ = tool(t, "svc", "-c", dir)
	waitState(t, dir, func(s serviceStatus) bool { return !s.Paused }, "continued")

	_, _ = tool(t, "svc", "-o", dir) // running: want down, do not restart
	_, _ = tool(t, "svc", "-k", dir)
	waitState(t, dir, isDown, "once: not restarted")
	_, _ = tool(t, "svc", "-o", dir) // down: start once
	once := waitState(t, dir, isUp, "once: started")
	require.Equal(t, "down", once.Want)
	_, _ = tool(t, "svc", "-k", dir)
	waitState(t, dir, isDown, "once: down again")
	require.Len(t, lines(out), 2)
}

// procState is the state letter of a process of the namespace, found by the
// pid the service's supervise/pid file shows inside it.
func procState(t *testing.T, root string, nsPid int) string {
	t.Helper()
	var state string
	require.Eventually(t, func() bool {
		state = ""
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			b, err := os.ReadFile("/proc/" + e.Name() + "/status")
			if err != nil {
				continue
			}
			s := string(b)
			if strings.Contains(s, "\nNSpid:\t") && strings.HasSuffix(nsPidLine(s), "\t"+strconv.Itoa(nsPid)) &&
				strings.Contains(procCwd(e.Name()), root) {
				state = strings.Fields(strings.SplitN(strings.SplitN(s, "State:", 2)[1], "\n", 2)[0])[0]
				return state == "T"
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond)
	return state
}

func nsPidLine(status string) string {
	i := strings.Index(status, "\nNSpid:\t")
	return strings.SplitN(status[i+1:], "\n", 2)[0]
}

func procCwd(pid string) string { p, _ := os.Readlink("/proc/" + pid + "/cwd"); return p }

// ./finish gets runit's arguments: exit code and signal.
func TestFinishArguments(t *testing.T) {
	out := filepath.Join(t.TempDir(), "finish")
	root := makeTree(t, map[string]files{
		"svc": {
			"run":    sh("test -e stop && exec sleep 1000; touch stop; sleep 1.1; exit 3"),
			"finish": sh("echo \"$@\" >> " + out),
		},
	})
	startTree(t, root)
	dir := filepath.Join(root, "svc")
	require.Equal(t, []string{"3 0"}, waitLines(t, out, 1))
	waitState(t, dir, isUp, "restarted after finish")
	_, _ = tool(t, "svc", "-t", dir)
	require.Equal(t, []string{"3 0", "-1 15"}, waitLines(t, out, 2))
}

// The pipe from a service to its log/ service is held by svinit: lines
// written while the logger is down, or across a restart of the service,
// are not lost, and the logger keeps its pid while the service restarts.
func TestLogPipeSurvivesRestarts(t *testing.T) {
	out := filepath.Join(t.TempDir(), "log")
	root := makeTree(t, map[string]files{
		"talker": {
			"run":     sh("i=0; while :; do i=$((i+1)); echo $i; sleep 0.01; done"),
			"log/run": sh("exec cat >> " + out),
		},
	})
	startTree(t, root)
	dir, logDir := filepath.Join(root, "talker"), filepath.Join(root, "talker/log")
	waitLines(t, out, 10)
	logger := waitState(t, logDir, isUp, "logger up")

	// Stop the logger while the talker is paused (nothing in flight), let the
	// talker write into the pipe, then start the logger again.
	_, _ = tool(t, "svc", "-p", dir)
	_, _ = tool(t, "svc", "-d", logDir)
	waitState(t, logDir, isDown, "logger down")
	before := len(lines(out))
	_, _ = tool(t, "svc", "-c", dir)
	time.Sleep(300 * time.Millisecond)
	require.Len(t, lines(out), before, "logger is down")
	_, _ = tool(t, "svc", "-u", logDir)
	waitLines(t, out, before+20)
	restarted := waitState(t, logDir, isUp, "logger up again")
	require.NotEqual(t, logger.Pid, restarted.Pid, "svc -d, svc -u: a new logger")

	// Restart the talker: the logger keeps running with the same pid.
	talker := waitState(t, dir, isUp, "talker up")
	_, _ = tool(t, "svc", "-k", dir)
	again := waitState(t, dir, func(s serviceStatus) bool { return isUp(s) && s.Pid != talker.Pid }, "talker restarted")
	require.NotEqual(t, talker.Pid, again.Pid)
	n := len(lines(out))
	waitLines(t, out, n+10)
	now := statusOf(t, logDir)
	require.True(t, isUp(now), "logger: %+v", now)
	require.Equal(t, restarted.Pid, now.Pid, "the logger kept its pid while the talker restarted")
	_, _ = tool(t, "svc", "-p", dir)
	time.Sleep(100 * time.Millisecond)

	// Every run of the talker counts 1, 2, 3, ... with no gap.
	got := lines(out)
	prev := 0
	for i, l := range got {
		v, err := strconv.Atoi(l)
		require.NoError(t, err, "line %d: %q", i, l)
		if v != 1 {
			require.Equal(t, prev+1, v, "line %d follows %d", i, prev)
		}
		prev = v
	}
}

// A new directory is picked up within a second; a removed one is stopped
// and forgotten.
func TestTreeChanges(t *testing.T) {
	out := t.TempDir()
	root := makeTree(t, map[string]files{"first": {"run": sh("exec sleep 1000")}})
	startTree(t, root)
	waitState(t, filepath.Join(root, "first"), isUp, "first up")

	staging := t.TempDir()
	writeService(t, filepath.Join(staging, "second"), files{
		"run": sh("trap 'echo TERM >> " + out + "/second; exit 0' TERM; echo up >> " + out + "/second; while :; do sleep 0.05; done"),
	})
	lag := machineLag(500 * time.Millisecond)
	began := time.Now()
	require.NoError(t, os.Rename(filepath.Join(staging, "second"), filepath.Join(root, "second")))
	waitLines(t, filepath.Join(out, "second"), 1)
	require.Less(t, time.Since(began), time.Second+lag(), "within a second (inotify)")

	require.NoError(t, os.Rename(filepath.Join(root, "second"), filepath.Join(staging, "second")))
	require.Equal(t, []string{"up", "TERM"}, waitLines(t, filepath.Join(out, "second"), 2))
	// Forgotten once its ./run has exited (after the TERM line it wrote).
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		st, code, err := combined(command("svok", filepath.Join(staging, "second")))
		assert.NoError(c, err)
		assert.Equal(c, 100, code, "no longer supervised: %s", st)
	}, 10*time.Second, 10*time.Millisecond)
	waitState(t, filepath.Join(root, "first"), isUp, "first unharmed")
}

// The root itself moved away and made again: inotify's watch followed the
// old directory, so svinit checks the path every --rescan until it can watch
// the new one, then goes back to inotify alone (a new service within 1 s).
func TestRootReplaced(t *testing.T) {
	root := makeTree(t, map[string]files{"a": {"run": sh("exec sleep 1000")}})
	r := startNS(t, "-s", root, "--rescan", "300ms")
	waitState(t, filepath.Join(root, "a"), isUp, "a up")
	old := root + ".old"
	require.NoError(t, os.Rename(root, old))
	require.Eventually(t, func() bool { return strings.Contains(r.stderr.String(), "lost the inotify watch of "+root) },
		5*time.Second, time.Millisecond, "stderr: %s", r.stderr)

	writeService(t, filepath.Join(root, "b"), files{"run": sh("exec sleep 1000")})
	waitState(t, filepath.Join(root, "b"), isUp, "b up in the new root")
	require.Eventually(t, func() bool { return strings.Contains(r.stderr.String(), "watching "+root+" with inotify alone") },
		5*time.Second, time.Millisecond, "stderr: %s", r.stderr)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		out, code := exitCode("svok", filepath.Join(old, "a"))
		assert.Equal(c, 100, code, out)
	}, 10*time.Second, 10*time.Millisecond, "a, gone with the old root, is stopped and forgotten")

	staging := t.TempDir()
	writeService(t, filepath.Join(staging, "c"), files{"run": sh("exec sleep 1000")})
	lag := machineLag(500 * time.Millisecond)
	began := time.Now()
	require.NoError(t, os.Rename(filepath.Join(staging, "c"), filepath.Join(root, "c")))
	waitState(t, filepath.Join(root, "c"), isUp, "c up")
	require.Less(t, time.Since(began), time.Second+lag(), "within a second (inotify alone again)")
}

// A root that is a symlink (runit's runsvchdir swaps one): inotify watches
// the directory it pointed to, so svinit checks the path every --rescan and
// follows the symlink to its new directory.
func TestRootSymlinkSwapped(t *testing.T) {
	first := makeTree(t, map[string]files{"a": {"run": sh("exec sleep 1000")}})
	second := makeTree(t, map[string]files{"b": {"run": sh("exec sleep 1000")}})
	root := filepath.Join(t.TempDir(), "service")
	require.NoError(t, os.Symlink(first, root))
	r := startNS(t, "-s", root, "--rescan", "300ms")
	waitState(t, filepath.Join(first, "a"), isUp, "a up")
	require.Eventually(t, func() bool {
		return strings.Contains(r.stderr.String(), root+" is a symlink, which can be pointed elsewhere unseen by inotify: checking "+root+" every 300ms")
	}, 5*time.Second, time.Millisecond, "stderr: %s", r.stderr)

	swap := root + ".new"
	require.NoError(t, os.Symlink(second, swap))
	require.NoError(t, os.Rename(swap, root))
	waitState(t, filepath.Join(second, "b"), isUp, "b up in the directory the symlink now names")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		out, code := exitCode("svok", filepath.Join(first, "a"))
		assert.Equal(c, 100, code, out)
	}, 10*time.Second, 10*time.Millisecond, "a, no longer in the tree, is stopped and forgotten")
}

// A root that does not exist yet at start: checked every --rescan until it
// appears, then watched by inotify alone.
func TestRootAppearsLater(t *testing.T) {
	root := filepath.Join(t.TempDir(), "service")
	r := startNS(t, "-s", root, "--rescan", "300ms")
	require.Eventually(t, func() bool {
		return strings.Contains(r.stderr.String(), "unable to watch "+root+": file does not exist: checking "+root+" every 300ms")
	},
		5*time.Second, time.Millisecond, "stderr: %s", r.stderr)
	writeService(t, filepath.Join(root, "a"), files{"run": sh("exec sleep 1000")})
	waitState(t, filepath.Join(root, "a"), isUp, "a up")
	require.Eventually(t, func() bool { return strings.Contains(r.stderr.String(), "watching "+root+" with inotify alone") },
		5*time.Second, time.Millisecond, "stderr: %s", r.stderr)
}

// Broken services of every kind: a clear message naming the file, retried on
// the backoff schedule (no hot loop), and the good service unharmed.
func TestBrokenRunScripts(t *testing.T) {
	root := makeTree(t, map[string]files{
		"good":        {"run": sh("exec sleep 1000")},
		"no-run":      {"finish": sh("true")},
		"no-interp":   {"run": "#!/nonexistent/interpreter\n"},
		"run-is-dir":  {"run/x": ""},
		"not-exec":    {},
		"bad-format":  {},
		"empty-shell": {"run": "#!\n"},
	})
	require.NoError(t, os.WriteFile(filepath.Join(root, "not-exec/run"), []byte(sh("true")), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "bad-format/run"), []byte("echo no #! line\n"), 0o755))
	require.NoError(t, os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(root, "dangling")))
	r := startTree(t, root)
	waitState(t, filepath.Join(root, "good"), isUp, "good up")
	want := map[string]string{
		"no-run":      "unable to start " + root + "/no-run/run: file does not exist",
		"no-interp":   "unable to start " + root + "/no-interp/run: interpreter /nonexistent/interpreter: file does not exist",
		"run-is-dir":  "unable to start " + root + "/run-is-dir/run: is a directory",
		"not-exec":    "unable to start " + root + "/not-exec/run: not executable (chmod +x run)",
		"bad-format":  "unable to start " + root + "/bad-format/run: exec format error (neither #! nor ELF)",
		"empty-shell": "unable to start " + root + "/empty-shell/run: empty #! line",
	}
	for name, msg := range want {
		st := waitState(t, filepath.Join(root, name), func(s serviceStatus) bool { return s.LastError != "" }, "error")
		require.Equal(t, msg, st.LastError, name)
		require.Contains(t, r.stderr.String(), "svinit: warning: "+msg)
	}
	require.Contains(t, r.stderr.String(), "svinit: warning: unable to stat "+root+"/dangling: file does not exist")
	time.Sleep(2500 * time.Millisecond)
	attempts := strings.Count(r.stderr.String(), want["no-run"])
	require.LessOrEqual(t, attempts, 3, "backoff, not a hot loop")
	require.Equal(t, 1, strings.Count(r.stderr.String(), "dangling"), "reported once")
	waitState(t, filepath.Join(root, "good"), func(s serviceStatus) bool { return isUp(s) && s.Restarts == 0 }, "good unharmed")

	lint, code := tool(t, "svinit", "check", root)
	require.Equal(t, 1, code)
	for _, msg := range want {
		require.Contains(t, lint, msg)
	}
	require.Contains(t, lint, root+"/dangling: unable to stat: file does not exist")
	clean, code := tool(t, "svinit", "check", makeTree(t, map[string]files{"good": {"run": sh("true")}}))
	require.Equal(t, 0, code, clean)
	require.Empty(t, clean)
}

// A removed service that ignores TERM is killed when the grace is over.
func TestRemovedServiceKilledAfterGrace(t *testing.T) {
	out := filepath.Join(t.TempDir(), "events")
	root := makeTree(t, map[string]files{"stubborn": {"run": sh(
		"trap 'echo TERM >> " + out + "' TERM; echo up >> " + out + "; while :; do sleep 0.05; done")}})
	r := startTree(t, root, "--grace", "1s")
	waitLines(t, out, 1)
	lag := machineLag(time.Second)
	began := time.Now()
	require.NoError(t, os.Rename(filepath.Join(root, "stubborn"), filepath.Join(t.TempDir(), "gone")))
	require.Equal(t, []string{"up", "TERM"}, waitLines(t, out, 2))
	require.Eventually(t, func() bool {
		return strings.Contains(r.stderr.String(), "stubborn: still running 1s after its directory was removed: killed")
	}, 5*time.Second, 10*time.Millisecond)
	took := time.Since(began)
	require.GreaterOrEqual(t, took, time.Second, "not killed before the grace")
	require.Less(t, took, 1500*time.Millisecond+lag(), "killed when the grace is over")
}

// A read-only service tree: supervise is a symlink to a writable place,
// whose target svinit creates.
func TestReadOnlyTree(t *testing.T) {
	run := t.TempDir()
	root := makeTree(t, map[string]files{"web": {"run": sh("exec sleep 1000")}})
	require.NoError(t, os.Symlink(filepath.Join(run, "svinit/web"), filepath.Join(root, "web/supervise")))
	script := "mount --bind " + root + " " + root + " && mount -o remount,bind,ro " + root + " && exec " + svinit + " -s " + root
	r := start(t, execCommand("unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--mount", "--propagation", "private", "sh", "-c", script))
	waitState(t, filepath.Join(root, "web"), isUp, "up on a read-only tree")
	_, err := os.Stat(filepath.Join(run, "svinit/web/status"))
	require.NoError(t, err)
	require.Contains(t, r.stderr.String(), "unable to create "+root+"/.svinit: read-only file system")
	out, _ := tool(t, "sv", "status", filepath.Join(root, "web"))
	require.Equal(t, "run: ROOT/web: (pid P) Ns\n", normalise(out, root))
}

// SIGTERM to svinit with services only: every service is stopped and svinit
// exits 0.
func TestServicesOnlyShutdown(t *testing.T) {
	root := makeTree(t, map[string]files{
		"a": {"run": sh("exec sleep 1000")},
		"b": {"run": sh("exec sleep 1000"), "log/run": sh("exec cat >/dev/null")},
	})
	r := startTree(t, root)
	waitState(t, filepath.Join(root, "a"), isUp, "a up")
	waitState(t, filepath.Join(root, "b/log"), isUp, "b/log up")
	began := time.Now()
	r.signal(syscall.SIGTERM)
	require.Equal(t, 0, r.wait(10*time.Second))
	require.Less(t, time.Since(began), pid1.DefaultGrace, "not left for the deadline")
	_, code := tool(t, "svok", filepath.Join(root, "a"))
	require.Equal(t, 100, code)
}

// svscanctl -t stops the tree; -a rescans (with the safety-net rescan off
// and inotify blind to a change inside a service directory, only -a finds
// a service whose ./run appears).
func TestSvscanctl(t *testing.T) {
	root := makeTree(t, map[string]files{"a": {"run": sh("exec sleep 1000")}})
	r := startTree(t, root)
	waitState(t, filepath.Join(root, "a"), isUp, "a up")
	out, code := tool(t, "svinit", "svscanctl", "-a", root)
	require.Equal(t, 0, code, out)
	out, code = tool(t, "svinit", "svscanctl", "-t", root)
	require.Equal(t, 0, code, out)
	require.Equal(t, 0, r.wait(10*time.Second))
	out, code = tool(t, "svinit", "svscanctl", "-t", root)
	require.Equal(t, 100, code)
	require.Equal(t, "svscanctl: fatal: unable to control "+root+": svinit not running\n", out)
}
