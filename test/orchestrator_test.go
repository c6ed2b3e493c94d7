//go:build system

package test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listen is a TCP port a built-in probe connects to, open until closed.
func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l
}

// svinit health and the HTTP endpoints on one tree, as an orchestrator sees
// it: a longrun whose ./check a file gates, an essential service and a
// non-essential one with built-in TCP probes (health-action mark: left
// running, shown unhealthy), a oneshot, a scheduled job, a service with
// ./down. startupz waits for the first readiness only; readyz follows it;
// livez fails only for the essential service.
func TestOrchestratorView(t *testing.T) {
	tmp := t.TempDir()
	flag := filepath.Join(tmp, "ready")
	core, cache := listen(t), listen(t)
	probe := func(addr string, essential bool) files {
		f := files{"run": sh("exec sleep 1000"), "health-tcp": addr, "health-interval": "100ms",
			"health-retries": "2", "health-action": "mark"}
		if essential {
			f["essential"] = ""
		}
		return f
	}
	root := makeTree(t, map[string]files{
		"web":   {"run": sh("exec sleep 1000"), "check": sh("test -e " + flag)},
		"core":  probe(core.Addr().String(), true),
		"cache": probe(cache.Addr().String(), false),
		"once":  {"type": "oneshot", "run": sh("exit 0")},
		"job":   {"schedule": "@every 1h", "run": sh("exit 0")},
		"off":   {"run": sh("exec sleep 1000"), "down": ""},
	})
	addr := freeAddr(t)
	startTree(t, root, "--http", addr)
	get := func(c *assert.CollectT, path string, code int, body string) {
		got, b := httpGet(addr, path)
		assert.Equal(c, code, got, "%s: %s", path, b)
		assert.Equal(c, body, b, path)
	}
	health := func(c *assert.CollectT, code int, out string) {
		got, gotCode := exitCode("svinit", "health", root)
		assert.Equal(c, code, gotCode, got)
		assert.Equal(c, out, got)
	}

	// Starting: web never ready yet.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		health(c, 1, "web: not ready: up, not ready yet\n")
		get(c, "/startupz", 503, "not started: web (never ready yet: not ready yet)\n")
		get(c, "/startupz/core", 200, "ok\n")
		get(c, "/readyz", 503, "not ready: web (not ready yet)\n")
	}, 10*time.Second, 20*time.Millisecond)

	require.NoError(t, os.WriteFile(flag, nil, 0o644))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		health(c, 0, "")
		get(c, "/startupz?verbose", 200, "[+]main-command ok\n[+]cache ok\n[+]core ok\n[+]once ok\n[+]web ok\nstartupz check passed\n")
		get(c, "/readyz", 200, "ready\n")
		get(c, "/livez?verbose", 200, "[+]loop ok\n[+]core ok\nlivez check passed\n")
		get(c, "/readyz/once", 200, "ready\n")
		get(c, "/readyz/job", 200, "ready\n")
		get(c, "/readyz/off", 503, "not ready: off (down)\n")
		get(c, "/livez/cache", 200, "ok\n")
	}, 10*time.Second, 20*time.Millisecond)
	out, code := exitCode("env", "SVINIT_SERVICE_DIR="+root, svinit, "health")
	require.Equal(t, 0, code, "SVINIT_SERVICE_DIR is the default tree: %s", out)
	_, code = exitCode("env", "SVINIT_SERVICE_DIR="+tmp, svinit, "health")
	require.Equal(t, 0, code, "a tree without services")
	out, code = exitCode("svinit", "health", filepath.Join(tmp, "none"))
	require.Equal(t, 1, code)
	require.Equal(t, "unable to read "+filepath.Join(tmp, "none")+": file does not exist\n", out)

	// web stops being ready: started once, so startupz still passes.
	require.NoError(t, os.Remove(flag))
	_, _ = tool(t, "svc", "-k", filepath.Join(root, "web"))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		health(c, 1, "web: not ready: up, not ready yet\n")
		get(c, "/readyz", 503, "not ready: web (not ready yet)\n")
		get(c, "/readyz/web", 503, "not ready: web (not ready yet)\n")
		get(c, "/startupz", 200, "ok\n")
	}, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, os.WriteFile(flag, nil, 0o644))

	// A non-essential service unhealthy: svinit health and readyz fail,
	// livez passes (svinit's own business), /livez/cache fails.
	cache.Close()
	refused := "connect to " + cache.Addr().String() + ": connection refused"
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		health(c, 1, "cache: unhealthy: "+refused+"\n")
		get(c, "/livez", 200, "ok\n")
		get(c, "/livez/cache", 503, "not live: cache (unhealthy: "+refused+")\n")
		get(c, "/readyz?verbose", 503, "[+]shutdown ok\n[+]main-command ok\n[-]cache failed: unhealthy: "+refused+
			"\n[+]core ok\n[+]off ok\n[+]once ok\n[+]web ok\nreadyz check failed\n")
	}, 10*time.Second, 20*time.Millisecond)

	// The essential one unhealthy (health-action mark): the container is
	// not live.
	core.Close()
	refusedCore := "connect to " + core.Addr().String() + ": connection refused"
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		health(c, 1, "cache: unhealthy: "+refused+"\ncore: unhealthy: "+refusedCore+"\n")
		get(c, "/livez", 503, "not live: core (unhealthy: "+refusedCore+")\n")
	}, 10*time.Second, 20*time.Millisecond)
	_, body := httpGet(addr, "/metrics")
	for _, want := range []string{
		`svinit_service_healthy{service="core"} 0` + "\n",
		`svinit_service_healthy{service="cache"} 0` + "\n",
		`svinit_service_health_failures{service="core"} `,
		`svinit_service_last_start_timestamp_seconds{service="web"} `,
		`svinit_service_next_run_timestamp_seconds{service="job"} `,
	} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, `svinit_service_healthy{service="web"}`, "no probe: no series")
	require.NotContains(t, body, `svinit_service_next_run_timestamp_seconds{service="web"}`)
}

// The termination log says why svinit exits with a failure, one line, at
// the path given; nothing for a success or a stop svinit was asked for.
func TestTerminationLogWritten(t *testing.T) {
	tmp := t.TempDir()
	path := filepath.Join(tmp, "termination-log")
	read := func() string { b, _ := os.ReadFile(path); return string(b) }

	root := makeTree(t, map[string]files{"crashy": {"run": sh("exit 7"), "essential": "", "max-restarts": "1"}})
	r := startTree(t, root, "--termination-log", path)
	require.Equal(t, 7, r.wait(15*time.Second))
	require.Equal(t, "essential service crashy gave up (exit code 7): gave up after 2 failures in a row (max-restarts 1)\n", read())

	r = startNSEnv(t, []string{"SVINIT_TERMINATION_LOG=" + path}, "--", "sh", "-c", "exit 3")
	require.Equal(t, 3, r.wait(10*time.Second))
	require.Equal(t, "main command sh exited with code 3\n", read())

	never := makeTree(t, map[string]files{"db": {"run": sh("exec sleep 1000"), "check": sh("exit 1")}})
	r = startTree(t, never, "--termination-log", path, "--ready-timeout", "500ms", "--", "true")
	require.Equal(t, 124, r.wait(10*time.Second))
	require.Equal(t, "services not ready after 500ms: db (not ready yet)\n", read())

	r = startNS(t, "--termination-log", path, "--", filepath.Join(tmp, "no-such-command"))
	require.Equal(t, 127, r.wait(10*time.Second))
	require.True(t, strings.HasPrefix(read(), "main command: "), read())
	require.Contains(t, read(), "no-such-command")

	require.NoError(t, os.Remove(path))
	r = startNS(t, "--termination-log", path, "-e", "3", "--", "sh", "-c", "exit 3")
	require.Equal(t, 0, r.wait(10*time.Second))
	r = startNS(t, "--termination-log", path, "--", "sleep", "1000")
	waitForChildComm(t, r.initPid(), "sleep")
	r.signal(syscall.SIGTERM)
	require.Equal(t, 143, r.wait(10*time.Second))
	require.NoFileExists(t, path, "a success, or a stop svinit was asked for: no termination message")

	r = startNS(t, "--termination-log", filepath.Join(tmp, "no", "dir"), "--", "sh", "-c", "exit 4")
	require.Equal(t, 4, r.wait(10*time.Second), "a termination log that cannot be written changes nothing")
	require.Contains(t, r.stderr.String(), "svinit: warning: unable to write the termination log "+filepath.Join(tmp, "no", "dir")+": file does not exist")
}
