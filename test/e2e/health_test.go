//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// healthOf is docker inspect's health of a container: its status and the
// output of the last check.
func healthOf(name string) (status, last string) {
	out, err := dockerCmd("inspect", "-f", "{{json .State.Health}}", name)
	if err != nil {
		return "", out
	}
	var h struct {
		Status string
		Log    []struct{ Output string }
	}
	if json.Unmarshal([]byte(out), &h) != nil {
		return "", out
	}
	if len(h.Log) > 0 {
		last = h.Log[len(h.Log)-1].Output
	}
	return h.Status, last
}

// httpIn is an HTTP/1.0 GET to svinit's --http server from inside the
// container (bash's /dev/tcp: the image has no curl).
func httpIn(name string, port, path string) string {
	out, _ := try("", name, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/"+port+"; printf 'GET "+path+" HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3")
	return out
}

// The example image's HEALTHCHECK (svinit health) as Docker runs it: the
// container is 'starting', then 'healthy' once memcached's built-in TCP
// probe and gearmand's gearadmin probe pass; gearmand stopped (SIGSTOP,
// its probe then times out) and only marked (health-action mark) makes it
// 'unhealthy' with svinit health's line in docker inspect; continued, it is
// healthy again. /startupz, /readyz and /livez from inside. Docker's
// checks every second (docker run --health-*), so that the test is short.
func TestDockerHealthcheck(t *testing.T) {
	container(t, "health", "--cap-add", "NET_ADMIN", "--health-interval", "1s", "--health-retries", "2",
		"--health-timeout", "5s", "--health-start-period", "60s", appImage, "--http", "127.0.0.1:9090")
	status, _ := healthOf("health")
	require.Equal(t, "starting", status, "the image has a HEALTHCHECK")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		status, last := healthOf("health")
		assert.Equal(c, "healthy", status, last)
	}, 60*time.Second, 200*time.Millisecond, "starting → healthy")
	require.Contains(t, httpIn("health", "9090", "/startupz"), "HTTP/1.0 200 OK")
	require.Contains(t, httpIn("health", "9090", "/livez"), "HTTP/1.0 200 OK")
	// svinit health passes a service whose first probe is still to come
	// ("starting": up and ready is enough); the probes pass 5 s after the
	// start (health-interval 5s).
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, s := range []string{"memcached", "gearmand"} {
			js, _ := try("", "health", "svstat", "--json", "/service/"+s)
			assert.Contains(c, js, `"health":"healthy"`, s)
		}
	}, 30*time.Second, 200*time.Millisecond, "the built-in TCP and the gearadmin probes pass")

	// gearmand's probe every 500 ms with a 1 s timeout, only marked; the
	// knobs are read at each start.
	sh(t, "health", "cd /service/gearmand && echo mark > health-action && echo 500ms > health-interval && echo 1s > health-timeout")
	pid := pidOf(t, "health", "gearmand")
	in(t, "health", "svc", "-t", "/service/gearmand")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		human, _ := try("", "health", "svstat", "/service/gearmand")
		p := svstatPid(human)
		assert.True(c, p != 0 && p != pid, "restarted: %s", human)
		js, _ := try("", "health", "svstat", "--json", "/service/gearmand")
		assert.Contains(c, js, `"health":"healthy"`)
	}, 30*time.Second, 200*time.Millisecond)
	pid = pidOf(t, "health", "gearmand")
	require.NotZero(t, pid)

	in(t, "health", "svc", "-p", "/service/gearmand")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		status, last := healthOf("health")
		assert.Equal(c, "unhealthy", status, last)
		assert.Contains(c, last, "gearmand: unhealthy: ", "svinit health's line in docker inspect")
	}, 60*time.Second, 200*time.Millisecond, "healthy → unhealthy")
	require.Equal(t, pid, pidOf(t, "health", "gearmand"), "health-action mark: left running")
	out, err := try("", "health", "svinit", "health")
	require.Error(t, err)
	require.Contains(t, out, "gearmand: unhealthy: ")
	require.Contains(t, httpIn("health", "9090", "/readyz"), "HTTP/1.0 503 ")
	require.Contains(t, httpIn("health", "9090", "/livez"), "HTTP/1.0 200 OK", "gearmand is not essential")
	require.Contains(t, httpIn("health", "9090", "/livez/gearmand"), "HTTP/1.0 503 ")

	in(t, "health", "svc", "-c", "/service/gearmand")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		status, last := healthOf("health")
		assert.Equal(c, "healthy", status, last)
	}, 60*time.Second, 200*time.Millisecond, "unhealthy → healthy")
	took, code := stop(t, "health", 10)
	require.Equal(t, 0, code)
	require.Less(t, took, 5*time.Second)
}

// An essential service that gives up: svinit exits with its code and
// writes why to /dev/termination-log — a file there, as the kubelet
// bind-mounts it (svinit creates none in a plain container's /dev) — or
// to the path SVINIT_TERMINATION_LOG names.
func TestTerminationLogDocker(t *testing.T) {
	tmp := t.TempDir()
	tree := filepath.Join(tmp, "service", "crashy")
	require.NoError(t, os.MkdirAll(tree, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "run"), []byte("#!/bin/sh\necho crashing; exit 7\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "essential"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "max-restarts"), []byte("1\n"), 0o644))
	log := filepath.Join(tmp, "termination-log")
	require.NoError(t, os.WriteFile(log, nil, 0o666))

	container(t, "termination", "-v", filepath.Join(tmp, "service")+":/svc", "-v", log+":/dev/termination-log",
		appImage, "-s", "/svc")
	out, err := dockerCmd("wait", "termination")
	require.NoError(t, err, out)
	require.Equal(t, "7", out, "svinit exits with the essential service's code")
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	require.Equal(t, "essential service crashy gave up (exit code 7): gave up after 2 failures in a row (max-restarts 1)\n", string(b))

	// SVINIT_TERMINATION_LOG elsewhere: svinit creates the file; docker cp
	// takes it out of the stopped container.
	container(t, "termination-env", "-v", filepath.Join(tmp, "service")+":/svc",
		"-e", "SVINIT_TERMINATION_LOG=/var/log/termination-log", appImage, "-s", "/svc")
	out, err = dockerCmd("wait", "termination-env")
	require.NoError(t, err, out)
	require.Equal(t, "7", out)
	copied := filepath.Join(tmp, "copied")
	out, err = dockerCmd("cp", "termination-env:/var/log/termination-log", copied)
	require.NoError(t, err, out)
	b, err = os.ReadFile(copied)
	require.NoError(t, err)
	require.Equal(t, "essential service crashy gave up (exit code 7): gave up after 2 failures in a row (max-restarts 1)\n", string(b))

	// Without the kubelet's file: nothing created in the container's /dev,
	// and no warning about it.
	container(t, "no-termination", "-v", filepath.Join(tmp, "service")+":/svc", "--entrypoint", "sh", appImage,
		"-c", "svinit -s /svc; echo svinit exited $?; ls /dev/termination-log 2>&1; sleep infinity")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		logs := logsOf("no-termination")
		assert.Contains(c, logs, "svinit exited 7\n")
		assert.Contains(c, logs, "'/dev/termination-log': No such file or directory")
	}, 30*time.Second, 200*time.Millisecond)
	require.NotContains(t, logsOf("no-termination"), "termination log")
}

// k8sContainer is the part of a container spec the Kubernetes tests read.
type k8sContainer struct {
	Name          string   `yaml:"name"`
	RestartPolicy string   `yaml:"restartPolicy"`
	Command       []string `yaml:"command"`
	Args          []string `yaml:"args"`
	Env           []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	StartupProbe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
			Port int    `yaml:"port"`
		} `yaml:"httpGet"`
	} `yaml:"startupProbe"`
}

type podSpec struct {
	TerminationGracePeriodSeconds int            `yaml:"terminationGracePeriodSeconds"`
	InitContainers                []k8sContainer `yaml:"initContainers"`
	Containers                    []k8sContainer `yaml:"containers"`
}

// sidecar starts a native sidecar (an init container with restartPolicy
// Always) as the kubelet does, with Docker: its args and env, then waits
// for its startupProbe before returning.
func sidecar(t *testing.T, name string, spec podSpec) k8sContainer {
	t.Helper()
	require.Len(t, spec.InitContainers, 1)
	side := spec.InitContainers[0]
	require.Equal(t, "Always", side.RestartPolicy, "a native sidecar")
	require.Equal(t, "/startupz", side.StartupProbe.HTTPGet.Path)
	args := []string{"--cap-add", "NET_ADMIN"}
	for _, e := range side.Env {
		args = append(args, "-e", e.Name+"="+e.Value)
	}
	container(t, name, append(append(args, appImage), side.Args...)...)
	port := strings.TrimPrefix(strings.TrimSpace(strings.Join(side.Args, " ")), "--http :")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Contains(c, httpIn(name, port, side.StartupProbe.HTTPGet.Path), "HTTP/1.0 200 OK")
	}, 60*time.Second, 200*time.Millisecond, "the startupProbe passes")
	// Started means every service was ready once: they are now.
	ready(t, name, daemons...)
	return side
}

// The native-sidecar pod: the app starts only after /startupz passed, in
// the pod's network namespace, and finds memcached there.
func TestKubernetesNativeSidecar(t *testing.T) {
	b, err := os.ReadFile("../../images/kubernetes/native-sidecar.yaml")
	require.NoError(t, err)
	var p struct{ Spec podSpec }
	require.NoError(t, yaml.Unmarshal(b, &p))
	sidecar(t, "native-daemons", p.Spec)
	container(t, "native-app", "--network", "container:native-daemons", "--entrypoint", "sleep", appImage, "infinity")
	require.Contains(t, in(t, "native-app", "bash", "-c",
		`exec 3<>/dev/tcp/127.0.0.1/11211; printf 'stats\r\nquit\r\n' >&3; cat <&3`), "STAT pid ")
}

// The Job: its container runs once the sidecar started, and succeeds; then
// the sidecar gets the kubelet's SIGTERM and stops cleanly (exit 0) within
// its grace.
func TestKubernetesJob(t *testing.T) {
	b, err := os.ReadFile("../../images/kubernetes/job.yaml")
	require.NoError(t, err)
	var j struct {
		Spec struct {
			Template struct{ Spec podSpec }
		}
	}
	require.NoError(t, yaml.Unmarshal(b, &j))
	spec := j.Spec.Template.Spec
	sidecar(t, "job-daemons", spec)
	require.Len(t, spec.Containers, 1)
	job := spec.Containers[0]
	require.NotEmpty(t, job.Command)
	container(t, "job-main", append([]string{"--network", "container:job-daemons", "--entrypoint", job.Command[0], appImage},
		append(job.Command[1:], job.Args...)...)...)
	out, err := dockerCmd("wait", "job-main")
	require.NoError(t, err, out)
	require.Equal(t, "0", out, "the job's container succeeded: %s", logsOf("job-main"))

	took, code := stop(t, "job-daemons", spec.TerminationGracePeriodSeconds)
	require.Equal(t, 0, code, "the sidecar stops cleanly")
	require.Less(t, took, 8*time.Second)
}
