//go:build e2e

package e2e

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// pod is the part of images/kubernetes/pod.yaml this test reads.
type pod struct {
	Spec struct {
		ShareProcessNamespace         bool `yaml:"shareProcessNamespace"`
		TerminationGracePeriodSeconds int  `yaml:"terminationGracePeriodSeconds"`
		Containers                    []struct {
			Name string   `yaml:"name"`
			Args []string `yaml:"args"`
			Env  []struct {
				Name  string `yaml:"name"`
				Value string `yaml:"value"`
			} `yaml:"env"`
			ReadinessProbe struct {
				HTTPGet struct {
					Path string `yaml:"path"`
					Port int    `yaml:"port"`
				} `yaml:"httpGet"`
			} `yaml:"readinessProbe"`
			LivenessProbe struct {
				Exec struct {
					Command []string `yaml:"command"`
				} `yaml:"exec"`
			} `yaml:"livenessProbe"`
		} `yaml:"containers"`
	} `yaml:"spec"`
}

// The Kubernetes example, played with Docker: a "pause" container owns the
// shared PID namespace (shareProcessNamespace), the app and the svinit
// sidecar join it with the pod's args and env. The pod's own probes pass,
// svinit is not PID 1, and it stops within terminationGracePeriodSeconds
// without touching the app.
func TestKubernetesPod(t *testing.T) {
	b, err := os.ReadFile("../../images/kubernetes/pod.yaml")
	require.NoError(t, err)
	var p pod
	require.NoError(t, yaml.Unmarshal(b, &p))
	require.True(t, p.Spec.ShareProcessNamespace)
	require.Len(t, p.Spec.Containers, 2)
	sidecar := p.Spec.Containers[1]
	args := []string{"--pid", "container:pod-pause", "--cap-add", "NET_ADMIN"}
	grace := ""
	for _, e := range sidecar.Env {
		args = append(args, "-e", e.Name+"="+e.Value)
		if e.Name == "SVINIT_GRACE" {
			grace = e.Value
		}
	}
	g, err := time.ParseDuration(grace)
	require.NoError(t, err, "the sidecar sets SVINIT_GRACE")
	require.Less(t, g, time.Duration(p.Spec.TerminationGracePeriodSeconds)*time.Second,
		"svinit's deadline comes before the kubelet's SIGKILL")

	container(t, "pod-pause", "--entrypoint", "sleep", appImage, "infinity")
	container(t, "pod-app", "--pid", "container:pod-pause", "--entrypoint", "sleep", appImage, "infinity")
	container(t, "pod-daemons", append(append(args, appImage), sidecar.Args...)...)
	ready(t, "pod-daemons", daemons...)
	require.NotEqual(t, "1", sh(t, "pod-daemons", "pgrep -o -x svinit"), "svinit is not PID 1 in the pod")

	probe := sidecar.ReadinessProbe.HTTPGet
	get := "exec 3<>/dev/tcp/127.0.0.1/" + strconv.Itoa(probe.Port) + "; printf 'GET " + probe.Path + " HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"
	require.Contains(t, in(t, "pod-daemons", "bash", "-c", get), "200 OK", "readinessProbe")
	in(t, "pod-daemons", sidecar.LivenessProbe.Exec.Command...)

	app := sh(t, "pod-app", "pgrep -x sleep")
	took, code := stop(t, "pod-daemons", p.Spec.TerminationGracePeriodSeconds)
	require.Equal(t, 0, code)
	require.Less(t, took, g)
	require.Equal(t, app, sh(t, "pod-app", "pgrep -x sleep"), "the pause and app processes were not touched")
	require.True(t, strings.Contains(logsOf("pod-daemons"), "a child subreaper"))
}
