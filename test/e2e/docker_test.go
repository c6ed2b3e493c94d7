//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// engine runs the suite's containers: the Docker CLI, or namespaces of the
// test's own where no Docker engine could start (namespaces_test.go). The
// tests speak docker run's options either way.
type engine interface {
	run(name string, args []string) error // docker run -d --name NAME ARGS...
	exec(user, name string, argv []string) (string, error)
	logs(name string) string
	stop(name string, grace int) (code int, err error) // docker stop -t GRACE, then the exit code
	rm(name string)
	network(name, subnet string) error
	rmNetwork(name string)
}

var eng engine = dockerCLI{}

// dockerCLI is the real thing.
type dockerCLI struct{}

// dockerCmd runs the docker CLI; the output is stdout and stderr together.
func dockerCmd(args ...string) (string, error) {
	out, err := exec.Command("docker", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (dockerCLI) run(name string, args []string) error {
	out, err := dockerCmd(append([]string{"run", "-d", "--name", name}, args...)...)
	if err != nil {
		return fmt.Errorf("docker run %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (dockerCLI) exec(user, name string, argv []string) (string, error) {
	args := []string{"exec"}
	if user != "" {
		args = append(args, "-u", user)
	}
	return dockerCmd(append(append(args, name), argv...)...)
}

func (dockerCLI) logs(name string) string {
	out, _ := dockerCmd("logs", name)
	return out
}

func (dockerCLI) stop(name string, grace int) (int, error) {
	if out, err := dockerCmd("stop", "-t", strconv.Itoa(grace), name); err != nil {
		return 0, fmt.Errorf("docker stop: %v: %s", err, out)
	}
	out, err := dockerCmd("inspect", "-f", "{{.State.ExitCode}}", name)
	if err != nil {
		return 0, fmt.Errorf("docker inspect: %v: %s", err, out)
	}
	return strconv.Atoi(out)
}

func (dockerCLI) rm(name string) { _, _ = dockerCmd("rm", "-f", name) }

func (dockerCLI) network(name, subnet string) error {
	_, _ = dockerCmd("network", "rm", name)
	out, err := dockerCmd("network", "create", "--subnet", subnet, "-o", "com.docker.network.driver.mtu="+uplinkMTU(), name)
	if err != nil {
		return fmt.Errorf("docker network create: %v: %s", err, out)
	}
	return nil
}

func (dockerCLI) rmNetwork(name string) { _, _ = dockerCmd("network", "rm", name) }

// network makes a user-defined bridge network (not --internal: that drops
// VRRP's multicast, docs/docker-e2e.md, pitfall 1), removed at the end of the test.
func network(t *testing.T, name, subnet string) {
	t.Helper()
	require.NoError(t, eng.network(name, subnet))
	t.Cleanup(func() { eng.rmNetwork(name) })
}

// container starts `docker run -d --name NAME ARGS...`, removed at the end of
// the test (its logs shown when the test failed).
func container(t *testing.T, name string, args ...string) {
	t.Helper()
	eng.rm(name)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs of %s:\n%s", name, tail(eng.logs(name), 6000))
		}
		eng.rm(name)
	})
	require.NoError(t, eng.run(name, args))
}

// in runs a command in the container (docker exec) and requires success.
func in(t *testing.T, name string, argv ...string) string {
	t.Helper()
	out, err := eng.exec("", name, argv)
	require.NoError(t, err, "exec in %s: %v\n%s", name, argv, out)
	return out
}

// try runs a command in the container as user ("" for the image's).
func try(user, name string, argv ...string) (string, error) {
	return eng.exec(user, name, argv)
}

// logsOf is docker logs.
func logsOf(name string) string { return eng.logs(name) }

// sh runs a shell script in the container (docker exec NAME sh -c SCRIPT).
func sh(t *testing.T, name, script string) string {
	t.Helper()
	return in(t, name, "sh", "-c", script)
}

// ready waits until the services are up and ready (svinit's svwait).
func ready(t *testing.T, name string, services ...string) {
	t.Helper()
	var dirs []string
	for _, s := range services {
		dirs = append(dirs, "/service/"+s)
	}
	if out, err := try("", name, append([]string{"svwait", "-U", "-t", "30000"}, dirs...)...); err != nil {
		status, _ := try("", name, append([]string{"svstat", "--json"}, dirs...)...)
		t.Fatalf("%s: services not ready: %s\n%s", name, out, status)
	}
}

var pidRE = regexp.MustCompile(`: up \(pid (\d+)\)`)

// pidOf is the pid svstat reports for /service/NAME (0 when down).
func pidOf(t *testing.T, name, service string) int {
	t.Helper()
	return svstatPid(in(t, name, "svstat", "/service/"+service))
}

// svstatPid is the pid in svstat's output (0 if none).
func svstatPid(out string) int {
	m := pidRE.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// hasAddr tells whether the container's eth0 holds the IPv4 address.
func hasAddr(name, addr string) bool {
	out, _ := try("", name, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
	return strings.Contains(out, " "+addr+"/")
}

// zombies lists the container's zombie processes (ps inside it).
func zombies(t *testing.T, name string) string {
	t.Helper()
	var z []string
	for _, line := range strings.Split(in(t, name, "ps", "-e", "-o", "pid=,stat=,comm="), "\n") {
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
	code, err := eng.stop(name, grace)
	require.NoError(t, err)
	return time.Since(began), code
}

func eventually(t *testing.T, cond func() bool, within time.Duration, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, within, 100*time.Millisecond, append([]any{msg}, args...)...)
}
