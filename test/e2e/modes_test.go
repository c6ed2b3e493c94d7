//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// With a read-only root and a tmpfs on /run, supervise/ (symlinks in the
// image) lives on /run and everything comes up; svscanctl works too.
func TestReadOnlyRoot(t *testing.T) {
	network(t, "e2e-ro", "172.30.0.0/24")
	container(t, "ro", "--read-only", "--tmpfs", "/run", "--network", "e2e-ro", "--cap-add", "NET_ADMIN", appImage)
	ready(t, "ro", append(daemons, "memcached/log")...)
	out, err := try("", "ro", "touch", "/service/x")
	require.Error(t, err)
	require.Contains(t, out, "Read-only file system")
	in(t, "ro", "svscanctl", "-a", "/service")
	require.Contains(t, logsOf("ro"), "memcached/log: cannot write /var/log/memcached; printing only")

	took, code := stop(t, "ro", 10)
	require.Equal(t, 0, code)
	t.Logf("docker stop (read-only root): %v", took.Round(time.Millisecond))
}

// As a non-root user (with a /run it may write), svinit runs the services
// that need no root; keepalived says why it stays down, once.
func TestNonRoot(t *testing.T) {
	container(t, "nonroot", "--user", "65534:65534", "--read-only", "--tmpfs", "/run:uid=65534,gid=65534", appImage)
	ready(t, "nonroot", "memcached", "gearmand", "memcached/log")
	require.Equal(t, "nobody", sh(t, "nonroot", "ps -o user= -p 1"))
	in(t, "nonroot", "svwait", "-d", "-t", "5000", "/service/keepalived")
	status := sh(t, "nonroot", "svstat /service/keepalived")
	require.Regexp(t, `/service/keepalived: down \d+ seconds, normally up`, status)
	logs := logsOf("nonroot")
	require.Equal(t, 1, strings.Count(logs, "keepalived: needs root (running as uid 65534); staying down"), logs)

	took, code := stop(t, "nonroot", 10)
	require.Equal(t, 0, code)
	t.Logf("docker stop (non-root): %v", took.Round(time.Millisecond))
}

// Sidecar mode: a second container shares the app's PID namespace and runs
// svinit as an ordinary process, a child subreaper. The orphans its service
// leaves are re-parented to it and reaped; when it is stopped it signals
// only its own tree: the app's daemons keep their pids.
func TestSidecar(t *testing.T) {
	container(t, "host", appImage)
	ready(t, "host", "memcached", "gearmand")
	memcached := pidOf(t, "host", "memcached")

	tree := t.TempDir()
	orphans := filepath.Join(tree, "orphans")
	require.NoError(t, os.Mkdir(orphans, 0o755))
	// Each round leaves one orphan (a sleep whose parent exited at once).
	run := "#!/bin/sh\nwhile :; do sh -c 'sleep 0.3 & echo orphan $!'; sleep 0.1; done\n"
	require.NoError(t, os.WriteFile(filepath.Join(orphans, "run"), []byte(run), 0o755))
	container(t, "side", "--pid", "container:host", "-v", tree+":/sidecar", "--entrypoint", "/usr/local/sbin/svinit",
		appImage, "-s", "/sidecar")
	eventually(t, func() bool {
		logs := logsOf("side")
		return strings.Count(logs, "orphans: orphan ") >= 10
	}, 10*time.Second, "the sidecar's service makes orphans")

	logs := logsOf("side")
	require.Contains(t, logs, "not PID 1")
	side := sidecarPid(t)
	require.NotEqual(t, 1, side)
	// The newest orphan is svinit's child now (it is the subreaper).
	last := regexp.MustCompile(`orphans: orphan (\d+)`).FindAllStringSubmatch(logs, -1)
	orphan := last[len(last)-1][1]
	ppid, err := try("", "host", "ps", "-o", "ppid=", "-p", orphan)
	if err == nil { // it may be gone already: then it was reaped, checked below
		require.Equal(t, strconv.Itoa(side), strings.TrimSpace(ppid))
	}
	require.Empty(t, zombies(t, "host"), "a zombie in the shared PID namespace")

	took, code := stop(t, "side", 10)
	require.Equal(t, 0, code)
	require.Equal(t, memcached, pidOf(t, "host", "memcached"), "the sidecar's shutdown touched the app")
	require.Contains(t, sh(t, "host", "svstat /service/gearmand"), ": up (pid ")
	require.Empty(t, zombies(t, "host"))
	t.Logf("docker stop (sidecar svinit, subreaper): %v", took.Round(time.Millisecond))
}

// sidecarPid is the pid of the sidecar's svinit in the shared namespace.
func sidecarPid(t *testing.T) int {
	t.Helper()
	out := in(t, "host", "ps", "-e", "-o", "pid=,args=")
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && strings.HasSuffix(f[1], "svinit") && f[2] == "-s" {
			pid, err := strconv.Atoi(f[0])
			require.NoError(t, err)
			return pid
		}
	}
	t.Fatalf("no sidecar svinit in:\n%s", out)
	return 0
}
