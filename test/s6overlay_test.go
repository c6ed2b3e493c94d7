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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An s6-overlay image under svinit, with nothing changed: svinit is /init's
// name (a link named init), the image's /etc layer is laid over the host's
// /etc with overlayfs and /run is a fresh tmpfs, in a mount namespace of
// the PID namespace svinit is PID 1 of. with-contenv, printcontenv and the
// s6-* chain-loaders are in /usr/bin (a read-only overlay of the host's
// /usr/bin with the links svinit --install makes), where s6-overlay's
// symlinks tarball puts them, so the scripts' #!/usr/bin/with-contenv works. What the scripts do is appended to a log
// file outside the namespace: the test's events.

// s6Image is an image's files, by path under /etc, with @EV@ standing for
// the events file.
type s6Image map[string]string

// typicalImage is a layout in the style of a typical s6-overlay image:
// cont-init scripts templating a config from the container's environment,
// a oneshot (up and down), two longruns with a dependency (db notifies its
// readiness on fd 3, web waits for it and runs under with-contenv), web's
// finish script writing the container's exit code as s6-overlay's README
// shows, a legacy /etc/services.d service, and a cont-finish script.
func typicalImage() s6Image {
	return s6Image{
		"cont-init.d/10-config": `#!/usr/bin/with-contenv sh
mkdir -p /etc/app
sed "s/@GREETING@/$GREETING/" /etc/app/app.conf.tmpl > /etc/app/app.conf
echo "cont-init 10 $(cat /etc/app/app.conf)" >> @EV@
`,
		"cont-init.d/20-second":                            "#!/bin/sh\necho \"cont-init 20 GREETING=[$GREETING]\" >> @EV@\n",
		"app/app.conf.tmpl":                                "greeting=@GREETING@\n",
		"s6-overlay/s6-rc.d/init-data/type":                "oneshot\n",
		"s6-overlay/s6-rc.d/init-data/up":                  "/etc/s6-overlay/scripts/init-data up\n",
		"s6-overlay/s6-rc.d/init-data/down":                "/etc/s6-overlay/scripts/init-data down\n",
		"s6-overlay/s6-rc.d/init-data/dependencies.d/base": "",
		"s6-overlay/scripts/init-data":                     "#!/bin/sh\necho \"init-data $1\" >> @EV@\n",
		"s6-overlay/s6-rc.d/db/type":                       "longrun\n",
		"s6-overlay/s6-rc.d/db/notification-fd":            "3\n",
		"s6-overlay/s6-rc.d/db/run": `#!/bin/sh
echo "db run" >> @EV@
sleep 0.2
echo "db ready" >> @EV@
echo >&3
exec 3>&-
exec sleep 1000
`,
		"s6-overlay/s6-rc.d/db/dependencies.d/base":      "",
		"s6-overlay/s6-rc.d/db/dependencies.d/init-data": "",
		"s6-overlay/s6-rc.d/web/type":                    "longrun\n",
		"s6-overlay/s6-rc.d/web/run":                     "#!/usr/bin/with-contenv sh\necho \"web run GREETING=[$GREETING]\" >> @EV@\nexec sleep 1000\n",
		"s6-overlay/s6-rc.d/web/finish": `#!/bin/sh
echo "web finish $1 $2" >> @EV@
if test "$1" -eq 256 ; then
  e=$((128 + $2))
else
  e="$1"
fi
echo "$e" > /run/s6-linux-init-container-results/exitcode
`,
		"s6-overlay/s6-rc.d/web/dependencies.d/base":   "",
		"s6-overlay/s6-rc.d/web/dependencies.d/db":     "",
		"s6-overlay/user-bundles.d/user/type":          "bundle\n",
		"s6-overlay/user-bundles.d/user/contents.d/db": "",
		// s6-overlay v3's deprecated place for the user bundle, used by many images
		"s6-overlay/s6-rc.d/user/contents.d/web":       "",
		"s6-overlay/s6-rc.d/user/contents.d/init-data": "",
		"services.d/legacy/run":                        "#!/bin/sh\necho \"legacy run\" >> @EV@\nexec sleep 1000\n",
		"services.d/legacy/finish":                     "#!/bin/sh\necho \"legacy finish $1 $2\" >> @EV@\n",
		"cont-finish.d/99-bye":                         "#!/bin/sh\necho \"cont-finish 99\" >> @EV@\n",
	}
}

// ovRun is one container of an s6Image.
type ovRun struct {
	*run
	events string
	start  time.Time
}

// s6Opts are the ways a test runs an image.
type s6Opts struct {
	env    []string // the container's environment, besides PATH
	ro     bool     // /etc read-only (docker run --read-only)
	roRun  bool     // /run read-only too: nothing can be built
	mounts string   // more shell before svinit starts
}

func startS6Image(t *testing.T, img s6Image, o s6Opts, cmd ...string) *ovRun {
	t.Helper()
	dir := t.TempDir()
	events := filepath.Join(dir, "events")
	require.NoError(t, os.WriteFile(events, nil, 0o644))
	up := filepath.Join(dir, "etc")
	for p, content := range img {
		full := filepath.Join(up, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		require.NoError(t, os.WriteFile(full, []byte(strings.ReplaceAll(content, "@EV@", events)), mode))
	}
	bin := filepath.Join(dir, "usrbin")
	out, code := tool(t, "svinit", "--install", bin)
	require.Equal(t, 0, code, out)
	initLink := filepath.Join(dir, "init")
	require.NoError(t, os.Symlink(svinit, initLink))
	etcMount := "mount -t overlay overlay -o lowerdir=/etc,upperdir=" + up + ",workdir=" + filepath.Join(dir, "work") + " /etc"
	if o.ro {
		etcMount = "mount -t overlay overlay -o ro,lowerdir=" + up + ":/etc /etc"
	}
	runMount := "mount -t tmpfs -o mode=0755 tmpfs /run"
	if o.roRun {
		runMount += " && mount -o remount,ro /run"
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "work"), 0o755))
	script := runMount + " && " + etcMount + " && mount -t overlay overlay -o lowerdir=" + bin + ":/usr/bin /usr/bin" +
		o.mounts + ` && exec "$@"`
	argv := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c", script, "sh", initLink}, cmd...)
	c := exec.Command("unshare", argv...)
	c.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, o.env...)
	r := &ovRun{events: events, start: time.Now()}
	r.run = start(t, c)
	return r
}

func (r *ovRun) lines() []string {
	b, _ := os.ReadFile(r.events)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// waitLine waits until the events hold a line starting with prefix.
func (r *ovRun) waitLine(prefix string) {
	r.t.Helper()
	require.EventuallyWithT(r.t, func(c *assert.CollectT) {
		assert.True(c, r.index(prefix) >= 0, "%q in %q", prefix, r.lines())
	}, 20*time.Second, 5*time.Millisecond, "stderr: %s", r.stderr)
}

// index is the place of the first line starting with prefix, -1 if none.
func (r *ovRun) index(prefix string) int {
	for i, l := range r.lines() {
		if strings.HasPrefix(l, prefix) {
			return i
		}
	}
	return -1
}

// before checks that each line (by prefix) comes before the next.
func (r *ovRun) before(prefixes ...string) {
	r.t.Helper()
	last := -1
	for _, p := range prefixes {
		i := r.index(p)
		require.Greater(r.t, i, last, "%q after %q in %q", p, prefixes, r.lines())
		last = i
	}
}

// The typical image, unchanged, with a CMD: cont-init first (in lexical
// order, the config templated from the container's environment), the
// oneshot, db then web (after db's readiness), the legacy service after
// the user bundle, then the CMD, with s6-overlay's minimal environment and
// with-contenv; the live directories are /run/service/NAME, which Debian's
// s6-svstat reads; at the end web's finish writes the exit code, which
// wins over the CMD's, cont-finish runs last.
func TestS6OverlayImage(t *testing.T) {
	img := typicalImage()
	img["s6-overlay/scripts/cmd"] = `#!/bin/sh
echo "cmd GREETING=[$GREETING]" >> @EV@
with-contenv sh -c 'echo "cmd with-contenv GREETING=[$GREETING]"' >> @EV@
echo "cmd printcontenv $(printcontenv GREETING)" >> @EV@
echo "cmd s6-svstat $(s6-svstat -o up,ready /run/service/db) $(s6-svstat -o up /run/service/legacy)" >> @EV@
exit 3
`
	r := startS6Image(t, img, s6Opts{env: []string{"GREETING=hello"}}, "/etc/s6-overlay/scripts/cmd")
	require.Equal(t, 143, r.wait(20*time.Second), "web's finish: killed by TERM, 128+15, over the CMD's 3\nstderr: %s", r.stderr)
	r.before("cont-init 10 greeting=hello", "cont-init 20 GREETING=[]", "init-data up", "db run", "db ready",
		"cmd GREETING=[]", "cmd with-contenv GREETING=[hello]", "cmd printcontenv hello",
		"cmd s6-svstat true true true", "web finish 256 15", "init-data down", "cont-finish 99")
	// web and legacy need no readiness notification: they count as up once
	// started (as under s6-rc), so their first line may follow the CMD's.
	r.before("db ready", "web run GREETING=[hello]", "web finish")
	r.before("db ready", "legacy run", "legacy finish", "init-data down")
	require.Contains(t, r.stderr.String(), "cont-init: info: running /etc/cont-init.d/10-config")
	require.NotContains(t, r.stderr.String(), "warning", "nothing to warn about in a plain image")
}

// Without a CMD, the services run until docker stop (TERM to PID 1); the
// exit code file decides the container's exit code.
func TestS6OverlayServicesOnly(t *testing.T) {
	r := startS6Image(t, typicalImage(), s6Opts{env: []string{"GREETING=hi"}})
	r.waitLine("legacy run")
	r.signal(syscall.SIGTERM)
	require.Equal(t, 143, r.wait(20*time.Second), "stderr: %s", r.stderr)
	r.before("web finish 256 15", "init-data down", "cont-finish 99")
}

// A file of the layout svinit cannot take is a warning naming it; the rest
// runs.
func TestS6OverlayRefused(t *testing.T) {
	img := typicalImage()
	img["s6-overlay/s6-rc.d/fancy/type"] = "oneshot\n"
	img["s6-overlay/s6-rc.d/fancy/up"] = "foreground { echo a } echo b\n"
	img["s6-overlay/s6-rc.d/user/contents.d/fancy"] = ""
	img["s6-overlay/s6-rc.d/odd/type"] = "pipeline\n"
	img["s6-overlay/scripts/cmd"] = "#!/bin/sh\necho cmd >> @EV@\n"
	r := startS6Image(t, img, s6Opts{}, "/etc/s6-overlay/scripts/cmd")
	require.Equal(t, 143, r.wait(20*time.Second), "web's finish writes the code; stderr: %s", r.stderr)
	require.Contains(t, r.stderr.String(), "/etc/s6-overlay/s6-rc.d/fancy/up: an execline block { ... } needs execlineb, which svinit is not: write one command line")
	require.Contains(t, r.stderr.String(), `/etc/s6-overlay/s6-rc.d/odd/type: not a service type (longrun, oneshot or bundle): "pipeline"`)
	r.before("init-data up", "db ready", "cmd")
}

// /etc/fix-attrs.d runs before cont-init: owners and modes as its lines
// say (recursively), with s6-overlay's deprecation warning. A bad line is
// an error naming the file and the line; with S6_BEHAVIOUR_IF_STAGE2_FAILS=2
// the container stops before cont-init, with 0 it goes on.
func TestS6OverlayFixAttrs(t *testing.T) {
	img := cmdImage(s6Image{
		"app/data/one":          "1\n",
		"app/data/sub/two":      "2\n",
		"fix-attrs.d/01-app":    "# the app's data\n/etc/app/data true daemon:bin 0640 2750\n",
		"cont-init.d/10-report": "#!/bin/sh\necho \"cont-init attrs $(stat -c '%U:%G:%a' /etc/app/data /etc/app/data/one /etc/app/data/sub /etc/app/data/sub/two | tr '\\n' ' ')\" >> @EV@\n",
	})
	r := startS6Image(t, img, s6Opts{}, "/etc/s6-overlay/scripts/cmd")
	require.Equal(t, 5, r.wait(20*time.Second), "stderr: %s", r.stderr)
	r.before("cont-init attrs daemon:bin:2750 daemon:bin:640 daemon:bin:2750 daemon:bin:640 ", "cmd")
	r.before("cont-init attrs", "app run") // app needs no readiness: its line may follow the CMD's
	require.Contains(t, r.stderr.String(), "fix-attrs: info: applying /etc/fix-attrs.d/01-app\n")
	require.Contains(t, r.stderr.String(), "fix-attrs: warning: fix-attrs is deprecated")

	img["fix-attrs.d/02-bad"] = "/etc/app/data true daemon 0640\n"
	for b, code := range map[string]int{"0": 5, "2": 1} {
		t.Run(b, func(t *testing.T) {
			r := startS6Image(t, img, s6Opts{env: []string{"S6_BEHAVIOUR_IF_STAGE2_FAILS=" + b}}, "/etc/s6-overlay/scripts/cmd")
			require.Equal(t, code, r.wait(20*time.Second), "stderr: %s", r.stderr)
			require.Contains(t, r.stderr.String(), "fix-attrs: error: /etc/fix-attrs.d/02-bad line 1: 4 fields, not 5")
			if b == "2" {
				require.Contains(t, r.stderr.String(), "fix-attrs: warning: some fix files failed to apply")
				require.Equal(t, -1, r.index("cont-init attrs"), "no cont-init script")
				require.Equal(t, -1, r.index("cmd"), "no CMD")
			} else {
				r.before("cont-init attrs", "cmd")
			}
		})
	}
}

// A oneshot that fails, below S6_BEHAVIOUR_IF_STAGE2_FAILS=2, as s6-rc
// does it: run once, not again (restart never); its dependent app does not
// start; the CMD starts at once (not after S6_CMD_WAIT_FOR_SERVICES_MAXTIME),
// with a warning naming what will not start.
func TestS6OverlayFailedOneshot(t *testing.T) {
	img := cmdImage(s6Image{
		"s6-overlay/s6-rc.d/prep/type":                "oneshot\n",
		"s6-overlay/s6-rc.d/prep/up":                  "/etc/s6-overlay/scripts/prep\n",
		"s6-overlay/scripts/prep":                     "#!/bin/sh\necho \"prep\" >> @EV@\nexit 3\n",
		"s6-overlay/s6-rc.d/prep/dependencies.d/base": "",
		"s6-overlay/s6-rc.d/user/contents.d/prep":     "",
		"s6-overlay/s6-rc.d/app/dependencies.d/prep":  "",
	})
	r := startS6Image(t, img, s6Opts{env: []string{"S6_CMD_WAIT_FOR_SERVICES_MAXTIME=2500"}}, "/etc/s6-overlay/scripts/cmd")
	require.Equal(t, 5, r.wait(20*time.Second), "stderr: %s", r.stderr)
	require.Equal(t, []string{"prep", "cmd GREETING=[]"}, r.lines(), "prep once, app never, the CMD at once")
	require.Contains(t, r.stderr.String(), "gave up: the oneshot failed (exit 3) and restart is never")
	require.Contains(t, r.stderr.String(), "starting /etc/s6-overlay/scripts/cmd: not waiting for the services whose dependency gave up: app (waiting for prep, which gave up)")
	require.NotContains(t, r.stderr.String(), "services not ready after")
}
