//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Two containers on one bridge network elect MASTER and BACKUP; docker
// stop of the master moves the virtual address to the backup.
func TestFailover(t *testing.T) {
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
	logs := logsOf("deadline")
	require.Contains(t, logs, "stubborn: ./run exited after")
	require.Contains(t, logs, "signal 9 (SIGKILL)")
	t.Logf("docker stop with a service ignoring TERM: %v, exit %d", took.Round(time.Millisecond), code)
}

// The top-level Dockerfile's image is svinit and its applet links alone,
// small enough to COPY into any image; the sizes go into the report. (The
// namespace engine has no images: it checks the binary the same way.)
func TestImageSizes(t *testing.T) {
	if fallback != "" {
		fi, err := os.Stat(filepath.Join(nsImage, "usr/local/sbin/svinit"))
		require.NoError(t, err)
		require.Less(t, fi.Size(), int64(4<<20), "the static svinit")
		out, err := exec.Command(filepath.Join(nsImage, "usr/local/sbin/svinit"), "svok", "/nonexistent").CombinedOutput()
		require.Error(t, err)
		require.Contains(t, string(out), "svok: fatal: unable to chdir to /nonexistent: file does not exist")
		t.Logf("namespace engine: static svinit %.2f MB (no images to measure)", float64(fi.Size())/1e6)
		return
	}
	out, err := dockerCmd("run", "--rm", "--entrypoint", "/sbin/svok", svinitImage, "/nonexistent")
	require.Error(t, err)
	require.Contains(t, out, "svok: fatal: unable to chdir to /nonexistent: file does not exist")
	size := func(image string) int64 {
		out, err := dockerCmd("image", "inspect", "-f", "{{.Size}}", image)
		require.NoError(t, err, out)
		n, err := strconv.ParseInt(out, 10, 64)
		require.NoError(t, err)
		return n
	}
	svinit, app, base := size(svinitImage), size(appImage), size(baseImage)
	// 4 MiB until the drop-ins (supervisord's XML-RPC with encoding/xml and
	// crypto/sha1 for {SHA} passwords, the cron parser, s6-overlay, my_init,
	// tini, dumb-init) came in: 4.6 MB then. The bound keeps it from
	// growing further unnoticed (net/http alone had taken it to 8.3 MB).
	require.Less(t, svinit, int64(5<<20), "the svinit image")
	t.Logf("image sizes: svinit %.2f MB, example app %.1f MB (its Debian base %.1f MB); built in %v",
		float64(svinit)/1e6, float64(app)/1e6, float64(base)/1e6, buildTimes)
}
