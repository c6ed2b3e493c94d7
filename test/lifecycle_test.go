//go:build system

package test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// logged is a run script that records "start NAME" and, on TERM, "stop NAME"
// in the shared file, then lives until TERM (after an optional body).
func logged(file, name, body string) string {
	return sh("trap 'echo stop " + name + " >> " + file + "; exit 0' TERM\necho start " + name + " >> " + file +
		"\n" + body + "\nwhile :; do sleep 0.05; done")
}

// One deadline: a service that ignores TERM is KILLed when it is over (not
// before), and svinit is gone right after. "Right after" is 0.5 s plus the
// lateness the machine shows meanwhile (a "sleep 2" run beside it): the
// KILL's time, from svinit's own log, tells a late KILL from a slow machine.
func TestShutdownDeadline(t *testing.T) {
	root := makeTree(t, map[string]files{
		"stubborn": {"run": sh("trap '' TERM; while :; do sleep 0.05; done")},
		"polite":   {"run": sh("exec sleep 1000")},
	})
	const grace = 2 * time.Second
	r := startTree(t, root, "--grace", "2s", "--log-format", "json")
	waitState(t, filepath.Join(root, "stubborn"), isUp, "up")
	waitState(t, filepath.Join(root, "polite"), isUp, "up")
	pid := r.initPid()
	lag := machineLag(grace)
	began := time.Now()
	r.signal(syscall.SIGTERM)
	require.Equal(t, 0, r.wait(grace+10*time.Second))
	took := time.Since(began)
	late := lag()
	killed := jsonLogTime(t, r.stderr.String(), "shutdown deadline of 2s is over: killed").Sub(began)
	t.Logf("svinit %d: KILL at +%v, gone at +%v; a sleep of %v beside it came back %v late",
		pid, killed.Round(time.Millisecond), took.Round(time.Millisecond), grace, late.Round(time.Millisecond))
	require.GreaterOrEqual(t, killed, grace, "not KILLed before the deadline")
	require.LessOrEqual(t, killed, grace+500*time.Millisecond+late, "KILLed at the deadline")
	require.LessOrEqual(t, took, killed+500*time.Millisecond+late, "gone once the KILLed service is")
}

// depends: a → b → c start in that order, each once the one before is
// ready (notification-fd, ./check, at once), and stop in reverse order; a
// service whose dependency does not exist waits and says why.
func TestDependencyOrder(t *testing.T) {
	out := filepath.Join(t.TempDir(), "order")
	root := makeTree(t, map[string]files{
		"a": {"run": logged(out, "a", "sleep 0.3; echo >&3"), "notification-fd": "3"},
		"b": {"run": logged(out, "b", "sleep 0.3; touch ready"), "check": sh("test -e ready"), "depends": "a\n"},
		"c": {"run": logged(out, "c", ""), "depends": "# the last one\nb\n"},
		"d": {"run": logged(out, "d", ""), "depends": "nonexistent"},
	})
	r := startTree(t, root)
	require.Equal(t, []string{"start a", "start b", "start c"}, waitLines(t, out, 3))
	st := statusOf(t, filepath.Join(root, "d"))
	require.Equal(t, "wait", st.State)
	svstat, _ := tool(t, "svinit", "svstat", filepath.Join(root, "d"))
	require.Contains(t, svstat, "down ")
	require.Contains(t, svstat, ", normally up, want up, waiting for nonexistent (no such service)\n")
	r.signal(syscall.SIGTERM)
	require.Equal(t, 0, r.wait(10*time.Second))
	require.Equal(t, []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}, lines(out))
}

// Readiness by notification-fd and by ./check, as svstat --ready and svwait
// report it.
func TestReadiness(t *testing.T) {
	tmp := t.TempDir()
	root := makeTree(t, map[string]files{
		"notify":  {"run": sh("while ! test -e " + tmp + "/go1; do sleep 0.05; done; echo ready >&5; exec sleep 1000"), "notification-fd": "5"},
		"checked": {"run": sh("exec sleep 1000"), "check": sh("test -e " + tmp + "/go2")},
	})
	startTree(t, root)
	for i, name := range []string{"notify", "checked"} {
		dir := filepath.Join(root, name)
		waitState(t, dir, isUp, "up")
		out, code := tool(t, "svinit", "svstat", "--ready", dir)
		require.Equal(t, 1, code, out)
		require.Equal(t, "svstat: "+dir+": not ready: up\n", out)
		_, code = tool(t, "svinit", "svwait", "-U", "-t", "200", dir)
		require.Equal(t, 1, code)
		require.NoError(t, os.WriteFile(filepath.Join(tmp, fmt.Sprintf("go%d", i+1)), nil, 0o644))
		_, code = tool(t, "svinit", "svwait", "-U", "-t", "5000", dir)
		require.Equal(t, 0, code)
		out, code = tool(t, "svinit", "svstat", "--ready", dir)
		require.Equal(t, 0, code, out)
	}
}

// The main command starts once the services are ready, and svinit exits
// with its code; services not ready in time: exit 124, main never started.
func TestMainCommandWaitsForServices(t *testing.T) {
	tmp := t.TempDir()
	root := makeTree(t, map[string]files{
		"db": {"run": sh("sleep 0.5; touch " + tmp + "/db-ready; exec sleep 1000"), "check": sh("test -e " + tmp + "/db-ready")},
	})
	r := startTree(t, root, "--", "sh", "-c", "test -e "+tmp+"/db-ready && exit 42")
	require.Equal(t, 42, r.wait(10*time.Second), r.stderr.String())

	never := makeTree(t, map[string]files{"db": {"run": sh("exec sleep 1000"), "check": sh("exit 1")}})
	r = startTree(t, never, "--ready-timeout", "1s", "--", "touch", tmp+"/main-ran")
	require.Equal(t, 124, r.wait(10*time.Second))
	require.Contains(t, r.stderr.String(), "svinit: fatal: services not ready after 1s, not starting touch: db (not ready yet)")
	_, err := os.Stat(tmp + "/main-ran")
	require.True(t, os.IsNotExist(err))
}

// An essential service that keeps failing stops the container with its
// code; one taken down stops it too. A main command killed by SIGKILL: 137.
func TestEssentialAndExitCodes(t *testing.T) {
	root := makeTree(t, map[string]files{
		"crashy": {"run": sh("exit 7"), "essential": "", "max-restarts": "2"},
		"other":  {"run": sh("exec sleep 1000")},
	})
	r := startTree(t, root)
	require.Equal(t, 7, r.wait(15*time.Second))
	require.Contains(t, r.stderr.String(), "crashy: gave up after 3 failures in a row (max-restarts 2)")
	require.Contains(t, r.stderr.String(), "svinit: fatal: essential service crashy gave up (exit code 7): stopping everything")

	root = makeTree(t, map[string]files{"web": {"run": sh("exec sleep 1000"), "essential": ""}})
	r = startTree(t, root)
	waitState(t, filepath.Join(root, "web"), isUp, "up")
	_, _ = tool(t, "svc", "-d", filepath.Join(root, "web"))
	require.Equal(t, 143, r.wait(10*time.Second))

	r = startTree(t, makeTree(t, map[string]files{}), "--", "sleep", "1000")
	pid := r.initPid()
	waitForChildComm(t, pid, "sleep")
	for _, c := range children(pid) {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c)); string(b) == "sleep\n" {
			require.NoError(t, syscall.Kill(c, syscall.SIGKILL))
		}
	}
	require.Equal(t, 137, r.wait(10*time.Second))
}

// down-signal replaces TERM for d; timeout-kill KILLs what ignores it;
// timeout-finish KILLs a ./finish that hangs.
func TestStopFiles(t *testing.T) {
	out := filepath.Join(t.TempDir(), "got")
	root := makeTree(t, map[string]files{
		"hup":  {"run": sh("trap 'echo HUP >> " + out + "; exit 0' HUP; trap '' TERM; while :; do sleep 0.05; done"), "down-signal": "SIGHUP"},
		"deaf": {"run": sh("trap '' TERM; while :; do sleep 0.05; done"), "timeout-kill": "300"},
		"slow": {"run": sh("test -e stop && exec sleep 1000; touch stop; exit 0"), "finish": sh("exec sleep 1000"), "timeout-finish": "300"},
	})
	r := startTree(t, root)
	waitState(t, filepath.Join(root, "hup"), isUp, "up")
	_, _ = tool(t, "svc", "-d", filepath.Join(root, "hup"))
	require.Equal(t, []string{"HUP"}, waitLines(t, out, 1))

	deaf := filepath.Join(root, "deaf")
	waitState(t, deaf, isUp, "up")
	lag := machineLag(300 * time.Millisecond)
	began := time.Now()
	_, _ = tool(t, "svc", "-d", deaf)
	st := waitState(t, deaf, isDown, "killed after timeout-kill")
	require.Equal(t, "signal 9 (SIGKILL)", st.LastExit)
	took := time.Since(began)
	require.GreaterOrEqual(t, took, 300*time.Millisecond, "not killed before timeout-kill")
	require.Less(t, took, 600*time.Millisecond+lag(), "killed at timeout-kill")
	require.Contains(t, r.stderr.String(), "deaf: still running after timeout-kill 300ms: killed")

	waitState(t, filepath.Join(root, "slow"), func(s serviceStatus) bool { return isUp(s) && s.Restarts == 1 }, "restarted after the finish was killed")
	require.Contains(t, r.stderr.String(), "slow: still running after timeout-finish 300ms: killed")
}

// --http: /livez, /readyz flipping as a service stops being ready and
// becomes ready again, /metrics.
func TestHTTPEndpoints(t *testing.T) {
	addr := freeAddr(t)
	flag := filepath.Join(t.TempDir(), "ready")
	require.NoError(t, os.WriteFile(flag, nil, 0o644))
	root := makeTree(t, map[string]files{"web": {"run": sh("exec sleep 1000"), "check": sh("test -e " + flag)}})
	startTree(t, root, "--http", addr)
	web := filepath.Join(root, "web")
	get := func(path string) (int, string) { return httpGet(addr, path) }
	require.Eventually(t, func() bool { c, _ := get("/readyz"); return c == 200 }, 5*time.Second, 20*time.Millisecond)
	code, body := get("/livez")
	require.Equal(t, 200, code, body)

	require.NoError(t, os.Remove(flag))
	_, _ = tool(t, "svc", "-k", web)
	require.Eventually(t, func() bool { c, _ := get("/readyz"); return c == 503 }, 5*time.Second, 20*time.Millisecond)
	_, body = get("/readyz")
	require.Contains(t, body, "not ready: web (")
	require.NoError(t, os.WriteFile(flag, nil, 0o644))
	require.Eventually(t, func() bool { c, _ := get("/readyz"); return c == 200 }, 5*time.Second, 20*time.Millisecond)

	code, body = get("/metrics")
	require.Equal(t, 200, code)
	for _, want := range []string{
		"# TYPE svinit_service_up gauge\n", `svinit_service_up{service="web"} 1` + "\n",
		`svinit_service_ready{service="web"} 1` + "\n", `svinit_service_restarts_total{service="web"} 1` + "\n",
		`svinit_service_last_exit_code{service="web"} 137` + "\n", "svinit_orphans_reaped_total ",
		"svinit_shutdown_duration_seconds 0.000\n",
	} {
		require.Contains(t, body, want)
	}
	code, _ = get("/nope")
	require.Equal(t, 404, code)
}

// --drain: on SIGTERM everything stays up (and /readyz is 503) for the
// drain, then stops.
func TestDrain(t *testing.T) {
	out := filepath.Join(t.TempDir(), "log")
	root := makeTree(t, map[string]files{"web": {"run": logged(out, "web", "")}})
	r := startTree(t, root, "--drain", "700ms")
	waitLines(t, out, 1)
	lag := machineLag(700 * time.Millisecond)
	began := time.Now()
	r.signal(syscall.SIGTERM)
	require.Equal(t, []string{"start web", "stop web"}, waitLines(t, out, 2))
	took := time.Since(began)
	require.GreaterOrEqual(t, took, 700*time.Millisecond, "up for the drain")
	require.Less(t, took, time.Second+lag(), "stopped once the drain is over")
	require.Equal(t, 0, r.wait(5*time.Second))
}
