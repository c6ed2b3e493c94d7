//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var daemons = []string{"memcached", "gearmand", "keepalived"}

// The example image as it is meant to be run: svinit is PID 1, the three
// daemons are up and answer, Debian's own clients and svinit's read the
// same states, svc reloads and kills, docker logs shows every daemon by
// name, an unprivileged user cannot control anything, and docker stop is
// quick and clean.
func TestExampleApp(t *testing.T) {
	network(t, "e2e-app", "172.30.0.0/24")
	container(t, "app", "--network", "e2e-app", "--cap-add", "NET_ADMIN",
		"-e", "KEEPALIVED_STATE=MASTER", "-e", "KEEPALIVED_PRIORITY=150", "-e", "MEMCACHED_VERBOSE=-vv", appImage)
	ready(t, "app", append(daemons, "memcached/log")...)

	require.Equal(t, "svinit", sh(t, "app", "cat /proc/1/comm"))
	require.Contains(t, in(t, "app", "bash", "-c",
		`exec 3<>/dev/tcp/127.0.0.1/11211; printf 'stats\r\nquit\r\n' >&3; cat <&3`), "STAT pid ")
	require.Equal(t, ".", in(t, "app", "gearadmin", "--status"))
	eventually(t, func() bool { return hasAddr("app", "172.30.0.100") }, 10*time.Second, "keepalived holds its VIP")

	t.Run("clients", func(t *testing.T) { checkClients(t) })
	t.Run("reload", func(t *testing.T) { checkReload(t) })
	t.Run("kill", func(t *testing.T) { checkKill(t) })
	t.Run("unprivileged", func(t *testing.T) { checkUnprivileged(t) })
	t.Run("logs", func(t *testing.T) { checkLogs(t) })

	require.Empty(t, zombies(t, "app"))
	took, code := stop(t, "app", 10)
	require.Equal(t, 0, code)
	require.Less(t, took, 5*time.Second, "docker stop app")
	t.Logf("docker stop app (3 daemons stopping on TERM): %v, exit %d", took.Round(time.Millisecond), code)
}

// svinit's svstat, daemontools' svstat and runit's sv read the same states.
func checkClients(t *testing.T) {
	ours := sh(t, "app", "svstat /service/* /service/memcached/log")
	for _, d := range append(daemons, "memcached/log") {
		require.Regexp(t, `/service/`+d+`: up \(pid \d+\) \d+ seconds`, ours)
	}
	theirs := sh(t, "app", "/usr/bin/svstat /service/* /service/memcached/log")
	require.Equal(t, normalizeSeconds(ours), normalizeSeconds(theirs))
	sv := sh(t, "app", "/usr/bin/sv status /service/*")
	for _, d := range daemons {
		require.Regexp(t, `run: /service/`+d+`: \(pid \d+\) \d+s`, sv)
	}
	require.Regexp(t, `run: /service/memcached: \(pid \d+\) \d+s; run: log: \(pid \d+\) \d+s`, sv)
	require.Contains(t, sh(t, "app", "svstat --json /service/memcached"), `"ready":true`)
}

// svc -h makes keepalived re-read its configuration: a changed address is
// taken over without a restart.
func checkReload(t *testing.T) {
	pid := pidOf(t, "app", "keepalived")
	sh(t, "app", "sed -i 's|172.30.0.100/24|172.30.0.101/24|' /run/keepalived/keepalived.conf")
	in(t, "app", "svc", "-h", "/service/keepalived")
	eventually(t, func() bool { return hasAddr("app", "172.30.0.101") && !hasAddr("app", "172.30.0.100") },
		10*time.Second, "keepalived took the new address after svc -h")
	require.Equal(t, pid, pidOf(t, "app", "keepalived"), "reloaded, not restarted")
}

// svc -k kills memcached: it is back, with a new pid, and answering, in under 2 s.
func checkKill(t *testing.T) {
	pid := pidOf(t, "app", "memcached")
	began := time.Now()
	in(t, "app", "svc", "-k", "/service/memcached")
	// Not pidOf: a require in the condition's goroutine cannot fail the test
	// cleanly.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		out, err := try("", "app", "svstat", "/service/memcached")
		if assert.NoError(c, err, out) {
			p := svstatPid(out)
			assert.True(c, p != 0 && p != pid, "svstat: %s", out)
		}
	}, 2*time.Second, 100*time.Millisecond, "memcached back with a new pid")
	ready(t, "app", "memcached")
	took := time.Since(began)
	require.Less(t, took, 2*time.Second)
	t.Logf("svc -k memcached -> up again and answering stats: %v", took.Round(time.Millisecond))
	require.Empty(t, zombies(t, "app"))
}

// A user other than svinit's may neither control a service nor read its
// control files; nothing changes.
func checkUnprivileged(t *testing.T) {
	pid := pidOf(t, "app", "memcached")
	for _, svc := range []string{"svc", "/usr/bin/svc"} {
		out, _ := try("nobody", "app", svc, "-d", "/service/memcached")
		require.Contains(t, out, "unable to control /service/memcached: access denied", svc)
	}
	out, err := try("nobody", "app", "sh", "-c", "echo d > /service/memcached/supervise/control")
	require.Error(t, err, out)
	require.Contains(t, out, "Permission denied")
	require.Equal(t, pid, pidOf(t, "app", "memcached"))
	require.Contains(t, sh(t, "app", "svstat /service/memcached"), ": up (pid ")
}

// docker logs has every daemon's lines, each with its service's name.
func checkLogs(t *testing.T) {
	for _, want := range []string{"\nmemcached/log: ", "\ngearmand: ", "\nKeepalived_vrrp: local6.info: (VI_1) Entering MASTER STATE"} {
		eventually(t, func() bool {
			logs := logsOf("app")
			return strings.Contains("\n"+logs, want)
		}, 10*time.Second, "docker logs has %q", want)
	}
}

// normalizeSeconds blanks svstat's seconds, which may tick between two calls.
func normalizeSeconds(s string) string {
	f := strings.Fields(s)
	for i := range f {
		if i+1 < len(f) && strings.HasPrefix(f[i+1], "second") {
			f[i] = "N"
		}
	}
	return strings.Join(f, " ")
}
