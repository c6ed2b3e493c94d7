package e2e

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// dockerCmd runs the docker CLI; the output is stdout and stderr together.
func dockerCmd(args ...string) (string, error) {
	out, err := exec.Command("docker", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// dockerOK runs the docker CLI and requires success.
func dockerOK(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dockerCmd(args...)
	require.NoError(t, err, "docker %s:\n%s", strings.Join(args, " "), out)
	return out
}

// network makes a user-defined bridge network (not --internal: that drops
// VRRP's multicast, docker-e2e.md pitfall 1), removed at the end of the test.
func network(t *testing.T, name, subnet string) {
	t.Helper()
	_, _ = dockerCmd("network", "rm", name)
	dockerOK(t, "network", "create", "--subnet", subnet, "-o", "com.docker.network.driver.mtu="+uplinkMTU(), name)
	t.Cleanup(func() { _, _ = dockerCmd("network", "rm", name) })
}

// container starts `docker run -d --name NAME ARGS...`, removed at the end of
// the test (its logs shown when the test failed).
func container(t *testing.T, name string, args ...string) {
	t.Helper()
	_, _ = dockerCmd("rm", "-f", name)
	dockerOK(t, append([]string{"run", "-d", "--name", name}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := dockerCmd("logs", name)
			t.Logf("docker logs %s:\n%s", name, tail(logs, 6000))
		}
		_, _ = dockerCmd("rm", "-f", name)
	})
}

// sh runs a shell script in the container (docker exec NAME sh -c SCRIPT).
func sh(t *testing.T, name, script string) string {
	t.Helper()
	return dockerOK(t, "exec", name, "sh", "-c", script)
}

// ready waits until the services are up and ready (svinit's svwait).
func ready(t *testing.T, name string, services ...string) {
	t.Helper()
	args := []string{"exec", name, "svwait", "-U", "-t", "30000"}
	for _, s := range services {
		args = append(args, "/service/"+s)
	}
	dockerOK(t, args...)
}

// pidOf is the pid svstat reports for /service/NAME (0 when down).
func pidOf(t *testing.T, name, service string) int {
	t.Helper()
	out := dockerOK(t, "exec", name, "svstat", "/service/"+service)
	m := pidRE.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

var pidRE = regexp.MustCompile(`: up \(pid (\d+)\)`)

// hasAddr tells whether the container's eth0 holds the IPv4 address.
func hasAddr(name, addr string) bool {
	out, _ := dockerCmd("exec", name, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
	return strings.Contains(out, " "+addr+"/")
}

// zombies lists the container's zombie processes (ps inside it).
func zombies(t *testing.T, name string) string {
	t.Helper()
	out := dockerOK(t, "exec", name, "ps", "-e", "-o", "pid=,stat=,comm=")
	var z []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[1], "Z") {
			z = append(z, line)
		}
	}
	return strings.Join(z, "\n")
}

// stop runs docker stop -t GRACE and returns how long it took and the
// container's exit code.
func stop(t *testing.T, name string, grace int) (time.Duration, int) {
	t.Helper()
	began := time.Now()
	dockerOK(t, "stop", "-t", strconv.Itoa(grace), name)
	took := time.Since(began)
	code, err := strconv.Atoi(dockerOK(t, "inspect", "-f", "{{.State.ExitCode}}", name))
	require.NoError(t, err)
	return took, code
}

func eventually(t *testing.T, cond func() bool, within time.Duration, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, within, 100*time.Millisecond, append([]any{msg}, args...)...)
}
