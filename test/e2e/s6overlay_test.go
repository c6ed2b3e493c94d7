//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// s6Image is images/s6-overlay-example: an image built the s6-overlay way
// (its layout under rootfs/ unchanged) with svinit as /init.
const s6Image = "local/s6-overlay-example:e2e"

func buildS6Image(t *testing.T) {
	t.Helper()
	began := time.Now()
	require.NoError(t, dockerBuild("../../images/s6-overlay-example", s6Image,
		"SVINIT_IMAGE="+svinitImage, "BASE_IMAGE="+baseImage))
	t.Logf("built %s in %v", s6Image, time.Since(began).Round(time.Millisecond))
}

// waitS6Up waits until s6's view of /run/service/NAME says up (svinit's
// svstat reads the s6-format directories too).
func waitS6Up(t *testing.T, name string, services ...string) {
	t.Helper()
	for _, s := range services {
		eventually(t, func() bool {
			out, err := try("", name, "svstat", "/run/service/"+s)
			return err == nil && strings.Contains(out, ": up (pid ")
		}, 20*time.Second, "%s: /run/service/%s not up\n%s", name, s, logsOf(name))
	}
}

// The example in real Docker: ENTRYPOINT ["/init"], no CMD: cont-init
// templates the config from the environment, the oneshot, db (ready on
// fd 3) then web (with-contenv), the legacy ticker; docker exec sees
// /run/service and the saved environment; docker stop is quick and clean.
// With a CMD, its exit code is the container's; with --read-only and a
// tmpfs /run it runs the same.
func TestS6OverlayExampleDocker(t *testing.T) {
	buildS6Image(t)

	t.Run("services", func(t *testing.T) {
		const name = "svinit-s6-example"
		container(t, name, "-e", "GREETING=bonjour", s6Image)
		waitS6Up(t, name, "db", "web", "ticker")
		require.Equal(t, "greeting=bonjour", in(t, name, "cat", "/run/app/app.conf"))
		require.Equal(t, "bonjour", in(t, name, "printcontenv", "GREETING"))
		require.Equal(t, "bonjour", in(t, name, "with-contenv", "sh", "-c", "echo $GREETING"))
		logs := logsOf(name)
		require.Contains(t, logs, "10-config: greeting=bonjour")
		require.Contains(t, logs, "web: serving with greeting=bonjour (GREETING=bonjour)")
		require.Less(t, strings.Index(logs, "init-data: data directory ready"), strings.Index(logs, "db: ready"), logs)
		took, code := stop(t, name, 10)
		require.Equal(t, 0, code, logsOf(name))
		require.Less(t, took, 5*time.Second)
		require.Contains(t, logsOf(name), "99-bye: the services are down")
	})

	t.Run("cmd", func(t *testing.T) {
		const name = "svinit-s6-example-cmd"
		container(t, name, s6Image, "sh", "-c", "echo \"cmd sees GREETING=[$GREETING] and $(cat /run/app/app.conf)\"; exit 3")
		eventually(t, func() bool {
			out, _ := dockerCmd("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name)
			return out == "exited 3"
		}, 20*time.Second, "the CMD's exit code is the container's\n%s", logsOf(name))
		require.Contains(t, logsOf(name), "cmd sees GREETING=[] and greeting=hello", "the CMD has s6-overlay's minimal environment")
	})

	t.Run("read-only", func(t *testing.T) {
		const name = "svinit-s6-example-ro"
		container(t, name, "--read-only", "--tmpfs", "/run:exec,mode=0755", "-e", "S6_READ_ONLY_ROOT=1", s6Image)
		waitS6Up(t, name, "db", "web", "ticker")
		_, code := stop(t, name, 10)
		require.Equal(t, 0, code, logsOf(name))
		require.NotContains(t, logsOf(name), "warning")
	})
}
