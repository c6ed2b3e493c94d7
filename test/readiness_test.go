//go:build system

package test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One readiness truth: for a service that is up but not ready yet (its
// notification-fd newline not written, or its ./check failing), every
// client of svinit says "not ready" — svstat --ready, svwait -U, sv check,
// sv -w start, /readyz/ and the dependency gate — and all of them say
// "ready" once it is. Debian's runit sv beside them: it runs ./check itself
// and so agrees for the checked service; runit's status format has no room
// for a notification-fd, so for that service it can only say "ok" (the
// README says so).
func TestOneReadinessTruth(t *testing.T) {
	tmp := t.TempDir()
	root := makeTree(t, map[string]files{
		"notify":  {"run": sh("while ! test -e " + tmp + "/go-notify; do sleep 0.05; done; echo ready >&5; exec sleep 1000"), "notification-fd": "5"},
		"checked": {"run": sh("exec sleep 1000"), "check": sh("test -e " + tmp + "/go-checked")},
		"after":   {"run": sh("exec sleep 1000"), "depends": "notify\nchecked\n"},
	})
	addr := freeAddr(t)
	startTree(t, root, "--http", addr)
	ready := func(dir string) map[string]int {
		_, svstat := tool(t, "svinit", "svstat", "--ready", dir)
		_, svwait := tool(t, "svinit", "svwait", "-U", "-t", "100", dir)
		_, check := tool(t, "svinit", "sv", "-w", "1", "check", dir)
		_, start := tool(t, "svinit", "sv", "-w", "1", "start", dir)
		return map[string]int{"svstat --ready": svstat, "svwait -U": svwait, "sv check": check, "sv -w start": start}
	}
	notReady := map[string]int{"svstat --ready": 1, "svwait -U": 1, "sv check": 1, "sv -w start": 1}
	allReady := map[string]int{"svstat --ready": 0, "svwait -U": 0, "sv check": 0, "sv -w start": 0}
	for _, name := range []string{"notify", "checked"} {
		dir := filepath.Join(root, name)
		waitState(t, dir, isUp, "up")
		require.Equal(t, notReady, ready(dir), "%s: up, not ready", name)
		code, body := httpGet(addr, "/readyz")
		require.Equal(t, 503, code, body)
		require.Contains(t, body, name)
		st := statusOf(t, filepath.Join(root, "after"))
		require.Equal(t, "wait", st.State, "the dependency gate holds back after")
	}
	// Debian's sv: ./check it runs itself; notification-fd it cannot see.
	out, code := tool(t, "sv", "-w", "1", "check", filepath.Join(root, "checked"))
	require.Equal(t, 1, code, out)
	out, code = tool(t, "sv", "-w", "1", "check", filepath.Join(root, "notify"))
	require.Equal(t, 0, code, out)

	for _, name := range []string{"notify", "checked"} {
		require.NoError(t, os.WriteFile(filepath.Join(tmp, "go-"+name), nil, 0o644))
		dir := filepath.Join(root, name)
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			out, code := exitCode("svinit", "svstat", "--ready", dir)
			assert.Equal(c, 0, code, out)
		}, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, allReady, ready(dir), "%s: ready", name)
	}
	out, code = tool(t, "sv", "-w", "1", "check", filepath.Join(root, "checked"))
	require.Equal(t, 0, code, out)
	waitState(t, filepath.Join(root, "after"), isUp, "after its dependencies are ready")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, body := httpGet(addr, "/readyz")
		assert.Equal(c, 200, code, body)
	}, 10*time.Second, 20*time.Millisecond)
}
