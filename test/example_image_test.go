//go:build system

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The example image's service tree (images/memcached-keepalived-gearmand)
// with the real daemons, under svinit as PID 1 — here in namespaces of the
// test's own (test/e2e runs it in Docker): all three become ready
// by their check scripts, memcached's log/ service prints its lines, and
// keepalived's syslog lines and MASTER state come through --syslog.
func TestExampleImageServices(t *testing.T) {
	tmp, dev, bin := t.TempDir(), t.TempDir(), t.TempDir()
	out, code := tool(t, "svinit", "--install", bin)
	require.Equal(t, 0, code, out)
	for name, minor := range map[string]int{"null": 3, "zero": 5, "random": 8, "urandom": 9} {
		require.NoError(t, unix.Mknod(filepath.Join(dev, name), unix.S_IFCHR|0o666, int(unix.Mkdev(1, uint32(minor)))))
	}
	root := filepath.Join(tmp, "service")
	require.NoError(t, exec.Command("cp", "-a", "../images/memcached-keepalived-gearmand/service", root).Run())
	script := "ip link add eth0 type veth peer name eth1 && ip link set eth1 up && ip link set eth0 up && " +
		"ip addr add 10.231.0.1/24 dev eth0 && ip link set lo up && mount --bind " + dev + " /dev && " +
		"mount -t tmpfs tmpfs /run && exec " + svinit + " --syslog -s " + root
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--mount", "--net", "--kill-child", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"),
		"KEEPALIVED_STATE=MASTER", "KEEPALIVED_VIP=10.231.0.10/24", "KEEPALIVED_RUN_DIR="+tmp,
		"MEMCACHED_LOG_DIR="+filepath.Join(tmp, "memcached-log"), "MEMCACHED_VERBOSE=-vv")
	r := start(t, cmd)
	var dirs []string
	for _, s := range []string{"memcached", "gearmand", "keepalived"} {
		dirs = append(dirs, filepath.Join(root, s))
	}
	out, code = tool(t, append([]string{"svinit", "svwait", "-U", "-t", "30000"}, dirs...)...)
	require.Equal(t, 0, code, "%s\nstdout: %s\nstderr: %s", out, r.stdout, r.stderr)
	out, code = tool(t, append([]string{"svinit", "svstat", "--ready"}, dirs...)...)
	require.Equal(t, 0, code, out)

	r.waitOutput("Keepalived_vrrp: local6.info: (VI_1) Entering MASTER STATE\n")
	require.Eventually(t, func() bool { return strings.Contains(r.stderr.String(), "memcached/log: ") }, 10*time.Second, 20*time.Millisecond,
		"memcached -v lines through log/: %s", r.stderr)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(tmp, "memcached-log/current"))
		return len(b) > 0
	}, 10*time.Second, 20*time.Millisecond)

	memcached := statusOf(t, dirs[0])
	lag := machineLag(time.Second)
	_, _ = tool(t, "svc", "-k", dirs[0])
	began := time.Now()
	waitState(t, dirs[0], func(s serviceStatus) bool { return isUp(s) && s.Pid != memcached.Pid && s.Ready }, "memcached back")
	// At once, not after a backoff: 2 s for memcached's start and readiness
	// check, plus the machine's lateness meanwhile.
	require.Less(t, time.Since(began), 2*time.Second+lag())

	r.signal(syscall.SIGTERM)
	require.Equal(t, 0, r.wait(10*time.Second))
}
