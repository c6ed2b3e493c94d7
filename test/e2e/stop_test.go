package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Two containers on one bridge network elect MASTER and BACKUP; docker
// stop of the master moves the virtual address to the backup.
func TestFailover(t *testing.T) {
	requireDocker(t)
	network(t, "e2e-vrrp", "172.31.0.0/24")
	for name, prio := range map[string]string{"master": "150", "backup": "100"} {
		container(t, name, "--network", "e2e-vrrp", "--cap-add", "NET_ADMIN",
			"-e", "KEEPALIVED_VIP=172.31.0.200/24", "-e", "KEEPALIVED_PRIORITY="+prio, appImage)
	}
	ready(t, "master", "keepalived")
	ready(t, "backup", "keepalived")
	eventually(t, func() bool { return hasAddr("master", "172.31.0.200") }, 15*time.Second, "the master holds the VIP")
	require.False(t, hasAddr("backup", "172.31.0.200"), "split brain: the backup holds the VIP too")

	took, code := stop(t, "master", 10)
	require.Equal(t, 0, code)
	began := time.Now()
	eventually(t, func() bool { return hasAddr("backup", "172.31.0.200") }, 10*time.Second, "the backup took over the VIP")
	t.Logf("docker stop master: %v; the backup held the VIP %v later", took.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// A service that ignores TERM is killed at svinit's deadline (--grace,
// default 8 s), and the container still exits on its own, before Docker's
// own SIGKILL at 10 s; no zombie is left at any point.
func TestStopDeadline(t *testing.T) {
	requireDocker(t)
	stubborn := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(stubborn, "run"),
		[]byte("#!/bin/sh\ntrap '' TERM\necho ignoring TERM\nexec sleep 1000\n"), 0o755))
	container(t, "deadline", "-v", stubborn+":/service/stubborn", appImage)
	ready(t, "deadline", "memcached", "gearmand", "stubborn")
	require.Empty(t, zombies(t, "deadline"))

	took, code := stop(t, "deadline", 10)
	require.Equal(t, 0, code, "svinit exited by itself: not Docker's SIGKILL (137)")
	require.Greater(t, took, 7500*time.Millisecond, "the stubborn service had its grace")
	require.Less(t, took, 9500*time.Millisecond, "svinit's deadline came before Docker's")
	logs := dockerOK(t, "logs", "deadline")
	require.Contains(t, logs, "stubborn: ./run exited after")
	require.Contains(t, logs, "signal 9 (SIGKILL)")
	t.Logf("docker stop with a service ignoring TERM: %v, exit %d", took.Round(time.Millisecond), code)
}

// The top-level Dockerfile's image is svinit and its applet links alone,
// small enough to COPY into any image; the sizes go into the report.
func TestImageSizes(t *testing.T) {
	requireDocker(t)
	out, err := dockerCmd("run", "--rm", "--entrypoint", "/sbin/svok", svinitImage, "/nonexistent")
	require.Error(t, err)
	require.Contains(t, out, "svok: fatal: unable to chdir to /nonexistent: file does not exist")
	size := func(image string) int64 {
		n, err := strconv.ParseInt(dockerOK(t, "image", "inspect", "-f", "{{.Size}}", image), 10, 64)
		require.NoError(t, err)
		return n
	}
	svinit, app, base := size(svinitImage), size(appImage), size(baseImage)
	require.Less(t, svinit, int64(4<<20), "the svinit image")
	t.Logf("image sizes: svinit %.2f MB, example app %.1f MB (its Debian base %.1f MB); built in %v",
		float64(svinit)/1e6, float64(app)/1e6, float64(base)/1e6, buildTimes)
}
