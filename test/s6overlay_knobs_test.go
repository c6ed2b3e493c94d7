//go:build system

package test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// One test a knob: each S6_* variable users set, mapped onto svinit's
// model (docs/migrating-s6-overlay.md), or named in a warning at start.

func cmdImage(extra s6Image) s6Image {
	img := s6Image{
		"s6-overlay/s6-rc.d/app/type":                "longrun\n",
		"s6-overlay/s6-rc.d/app/run":                 "#!/bin/sh\necho \"app run\" >> @EV@\necho >&3\nexec 3>&- sleep 1000\n",
		"s6-overlay/s6-rc.d/app/notification-fd":     "3\n", // ready after its line: the line comes before the CMD's
		"s6-overlay/s6-rc.d/user/contents.d/app":     "",
		"s6-overlay/s6-rc.d/app/dependencies.d/base": "",
		"s6-overlay/scripts/cmd":                     "#!/bin/sh\necho \"cmd GREETING=[$GREETING]\" >> @EV@\nexit 5\n",
	}
	for k, v := range extra {
		img[k] = v
	}
	return img
}

var failingInit = s6Image{"cont-init.d/10-fail": "#!/bin/sh\necho \"cont-init fail\" >> @EV@\nexit 4\n",
	"cont-init.d/20-next": "#!/bin/sh\necho \"cont-init next\" >> @EV@\n"}

// S6_BEHAVIOUR_IF_STAGE2_FAILS: a cont-init script that fails. 0: on
// silently; 1: on with s6-overlay's warning; 2: the container stops (exit
// 1), neither the services nor the CMD start.
func TestS6KnobBehaviourIfStage2Fails(t *testing.T) {
	for _, tc := range []struct {
		b       string
		code    int
		warning bool
	}{{"0", 5, false}, {"1", 5, true}, {"2", 1, false}} {
		t.Run(tc.b, func(t *testing.T) {
			r := startS6Image(t, cmdImage(failingInit), s6Opts{env: []string{"S6_BEHAVIOUR_IF_STAGE2_FAILS=" + tc.b}},
				"/etc/s6-overlay/scripts/cmd")
			require.Equal(t, tc.code, r.wait(20*time.Second), "stderr: %s", r.stderr)
			r.before("cont-init fail", "cont-init next")
			require.Equal(t, tc.warning || tc.b == "2", strings.Contains(r.stderr.String(), "cont-init: warning: some scripts exited nonzero"), r.stderr.String())
			if tc.b == "2" {
				require.Equal(t, -1, r.index("cmd"), "the CMD does not start")
				require.Equal(t, -1, r.index("app run"), "the services do not start")
				require.Contains(t, r.stderr.String(), "essential service legacy-cont-init gave up")
			} else {
				r.before("cont-init next", "cmd")
			}
		})
	}
}

// S6_CMD_WAIT_FOR_SERVICES_MAXTIME: app never notifies its readiness. With
// S6_BEHAVIOUR_IF_STAGE2_FAILS=2 the container stops at the deadline
// (svinit's --ready-timeout: 124); below 2 the CMD starts anyway.
func TestS6KnobWaitForServicesMaxtime(t *testing.T) {
	img := cmdImage(s6Image{
		"s6-overlay/s6-rc.d/app/run": "#!/bin/sh\necho \"app run\" >> @EV@\nexec sleep 1000\n",
	})
	for _, tc := range []struct {
		b    string
		code int
	}{{"0", 5}, {"2", 124}} {
		t.Run(tc.b, func(t *testing.T) {
			r := startS6Image(t, img, s6Opts{env: []string{"S6_CMD_WAIT_FOR_SERVICES_MAXTIME=300", "S6_BEHAVIOUR_IF_STAGE2_FAILS=" + tc.b}},
				"/etc/s6-overlay/scripts/cmd")
			require.Equal(t, tc.code, r.wait(20*time.Second), "stderr: %s", r.stderr)
			require.Less(t, time.Since(r.start), 5*time.Second)
			if tc.code == 124 {
				require.Equal(t, -1, r.index("cmd"))
				require.Contains(t, r.stderr.String(), "services not ready after 300ms, not starting")
			} else {
				r.before("app run", "cmd")
				require.Contains(t, r.stderr.String(), "services not ready after 300ms: starting /etc/s6-overlay/scripts/cmd anyway")
			}
		})
	}
}

// stubborn is a service that ignores TERM; its finish writes the exit code.
var stubborn = s6Image{
	"services.d/stubborn/run":    "#!/bin/sh\ntrap '' TERM\necho \"stubborn run\" >> @EV@\nexec sleep 1000\n",
	"services.d/stubborn/finish": "#!/bin/sh\necho \"stubborn finish $1 $2\" >> @EV@\nif test \"$1\" -eq 256 ; then echo $((128 + $2)) > /run/s6-linux-init-container-results/exitcode ; fi\n",
}

// S6_SERVICES_GRACETIME: a service that ignores TERM is killed that long
// after it (svinit's timeout-kill), well before the default 3000 ms.
func TestS6KnobServicesGracetime(t *testing.T) {
	r := startS6Image(t, cmdImage(stubborn), s6Opts{env: []string{"S6_SERVICES_GRACETIME=200"}})
	r.waitLine("stubborn run")
	stop := time.Now()
	r.signal(syscall.SIGTERM)
	require.Equal(t, 137, r.wait(20*time.Second), "KILL after 200 ms, its finish says 128+9; stderr: %s", r.stderr)
	require.Less(t, time.Since(stop), 2*time.Second)
	r.waitLine("stubborn finish 256 9")
}

// S6_KILL_GRACETIME: what is left of the tree once the services are down
// (a process a cont-init script left behind, ignoring TERM) is killed at
// the end of svinit's deadline: S6_SERVICES_GRACETIME + S6_KILL_GRACETIME
// (no cont-finish scripts), not the 6 s of the defaults.
func TestS6KnobKillGracetime(t *testing.T) {
	img := cmdImage(s6Image{"cont-init.d/10-stray": "#!/bin/sh\n(trap '' TERM; exec sleep 1000) >/dev/null 2>&1 &\necho \"stray started\" >> @EV@\n"})
	r := startS6Image(t, img, s6Opts{env: []string{"S6_SERVICES_GRACETIME=100", "S6_KILL_GRACETIME=400"}}, "/etc/s6-overlay/scripts/cmd")
	require.Equal(t, 5, r.wait(20*time.Second), "stderr: %s", r.stderr)
	elapsed := time.Since(r.start)
	require.Less(t, elapsed, 3*time.Second)
	require.Contains(t, r.stderr.String(), "shutdown deadline of 500ms is over: killed 1 remaining processes")
}

// S6_KILL_FINISH_MAXTIME: a cont-finish script that hangs is killed after
// that long, and the next one runs.
func TestS6KnobKillFinishMaxtime(t *testing.T) {
	img := cmdImage(s6Image{
		"cont-finish.d/10-hang": "#!/bin/sh\necho \"finish hang\" >> @EV@\nexec sleep 1000\n",
		"cont-finish.d/20-next": "#!/bin/sh\necho \"finish next\" >> @EV@\n",
	})
	r := startS6Image(t, img, s6Opts{env: []string{"S6_KILL_FINISH_MAXTIME=300", "S6_SERVICES_GRACETIME=100", "S6_KILL_GRACETIME=100"}},
		"/etc/s6-overlay/scripts/cmd")
	require.Equal(t, 5, r.wait(20*time.Second), "stderr: %s", r.stderr)
	require.Less(t, time.Since(r.start), 3*time.Second)
	r.before("cmd", "finish hang", "finish next")
	require.Contains(t, r.stderr.String(), "cont-finish: warning: /etc/cont-finish.d/10-hang still ran after 300ms: killed")
}

// S6_CMD_RECEIVE_SIGNALS=1: docker stop's TERM goes to the CMD, and the
// services stop once it has exited (svinit's own order); its exit code is
// the container's.
func TestS6KnobCmdReceiveSignals(t *testing.T) {
	img := cmdImage(s6Image{"s6-overlay/scripts/cmd": "#!/bin/sh\ntrap 'echo \"cmd got TERM\" >> @EV@; exit 7' TERM\necho \"cmd\" >> @EV@\nwhile :; do sleep 0.05; done\n"})
	r := startS6Image(t, img, s6Opts{env: []string{"S6_CMD_RECEIVE_SIGNALS=1"}}, "/etc/s6-overlay/scripts/cmd")
	r.waitLine("cmd")
	r.signal(syscall.SIGTERM)
	require.Equal(t, 7, r.wait(20*time.Second), "stderr: %s", r.stderr)
	require.NotContains(t, r.stderr.String(), "S6_CMD_RECEIVE_SIGNALS")
	r.before("app run", "cmd", "cmd got TERM")

	r = startS6Image(t, img, s6Opts{env: []string{"S6_CMD_RECEIVE_SIGNALS=0"}}, "/etc/s6-overlay/scripts/cmd")
	r.waitLine("cmd")
	r.signal(syscall.SIGTERM)
	require.Equal(t, 7, r.wait(20*time.Second))
	require.Contains(t, r.stderr.String(), "S6_CMD_RECEIVE_SIGNALS=0 is not honoured")
}

// S6_READ_ONLY_ROOT=1 with a read-only /etc: svinit writes nothing outside
// /run, the image runs. A /run that cannot be written is a clear error,
// and the CMD still runs, alone.
func TestS6KnobReadOnlyRoot(t *testing.T) {
	img := cmdImage(s6Image{"cont-init.d/10-conf": "#!/bin/sh\necho conf > /run/app.conf && echo \"cont-init ok\" >> @EV@\n"})
	r := startS6Image(t, img, s6Opts{ro: true, env: []string{"S6_READ_ONLY_ROOT=1"}}, "/etc/s6-overlay/scripts/cmd")
	require.Equal(t, 5, r.wait(20*time.Second), "stderr: %s", r.stderr)
	r.before("cont-init ok", "app run", "cmd")
	require.NotContains(t, r.stderr.String(), "warning")

	r = startS6Image(t, img, s6Opts{ro: true, roRun: true, env: []string{"S6_READ_ONLY_ROOT=1"}}, "/etc/s6-overlay/scripts/cmd")
	require.Equal(t, 5, r.wait(20*time.Second), "stderr: %s", r.stderr)
	require.Contains(t, r.stderr.String(), "svinit: fatal: s6-overlay: unable to remove /run/s6: read-only file system: no services run")
	require.Equal(t, -1, r.index("app run"))
}

// S6_VERBOSITY: 0 drops the cont-init lines; 2 (the default) has them; 3
// turns on svinit's --trace.
func TestS6KnobVerbosity(t *testing.T) {
	img := cmdImage(s6Image{"cont-init.d/10-x": "#!/bin/sh\n"})
	for _, tc := range []struct {
		v           string
		info, trace bool
	}{{"0", false, false}, {"2", true, false}, {"3", true, true}} {
		r := startS6Image(t, img, s6Opts{env: []string{"S6_VERBOSITY=" + tc.v}}, "/etc/s6-overlay/scripts/cmd")
		require.Equal(t, 5, r.wait(20*time.Second))
		require.Equal(t, tc.info, strings.Contains(r.stderr.String(), "cont-init: info: running /etc/cont-init.d/10-x"), "S6_VERBOSITY=%s: %s", tc.v, r.stderr)
		require.Equal(t, tc.trace, strings.Contains(r.stderr.String(), "s6-overlay: 2 service directories in /run/service"), "S6_VERBOSITY=%s: %s", tc.v, r.stderr)
	}
}

// S6_LOGGING: the catch-all logger in /run/uncaught-logs (multilog, with
// S6_LOGGING_SCRIPT's directives). 1: svinit's lines and the services'
// output are logged there, the CMD still writes to stdout; 2: the CMD's
// output is logged too, nothing reaches stdout. The CMD shows the log
// (through the events file) once the last line it expects is there (the
// logger writes on its own time). A variable svinit
// does not act on is still named in a warning on stderr.
func TestS6KnobLogging(t *testing.T) {
	img := cmdImage(s6Image{
		"cont-init.d/10-say": "#!/bin/sh\necho \"cont-init says hi\"\n",
		"s6-overlay/scripts/cmd": `#!/bin/sh
echo "cmd out"
for i in $(seq 200); do grep -q "$LAST" /run/uncaught-logs/current && break; sleep 0.05; done
sed 's/^/log: /' /run/uncaught-logs/current >> @EV@
echo "cmd GREETING=[$GREETING]" >> @EV@
exit 5
`,
	})
	for _, mode := range []string{"1", "2"} {
		t.Run(mode, func(t *testing.T) {
			r := startS6Image(t, img, s6Opts{env: []string{"S6_LOGGING=" + mode, "S6_LOGGING_SCRIPT=n3 s100000 T",
				"S6_STAGE2_HOOK=/bin/true"}}, "/usr/bin/env", "LAST="+map[string]string{"1": "legacy-cont-init: done", "2": "cmd out"}[mode], "/etc/s6-overlay/scripts/cmd")
			require.Equal(t, 5, r.wait(20*time.Second), "stderr: %s", r.stderr)
			require.Contains(t, r.stderr.String(), "svinit: warning: s6-overlay: S6_STAGE2_HOOK is not honoured")
			require.NotContains(t, r.stderr.String(), "cont-init says hi")
			require.NotContains(t, r.stdout.String(), "cont-init says hi")
			require.Greater(t, r.index("log: "), -1, "the log: %q", r.lines())
			var logged []string
			for _, l := range r.lines() {
				if strings.HasPrefix(l, "log: ") {
					_, rest, ok := strings.Cut(strings.TrimPrefix(l, "log: "), " ")
					require.True(t, ok, "an ISO 8601 stamp, then the line: %q", l)
					logged = append(logged, rest)
				}
			}
			require.Contains(t, logged, "legacy-cont-init: cont-init says hi")
			require.Contains(t, logged, "legacy-cont-init: cont-init: info: running /etc/cont-init.d/10-say")
			if mode == "1" {
				require.Equal(t, "cmd out\n", r.stdout.String())
				require.NotContains(t, logged, "cmd out")
			} else {
				require.Empty(t, r.stdout.String())
				require.Contains(t, logged, "cmd out")
			}
		})
	}
}

// S6_KEEP_ENV=1: the environment is not reset: the services and the CMD
// see it without with-contenv, and nothing is saved.
func TestS6KnobKeepEnv(t *testing.T) {
	img := cmdImage(s6Image{"s6-overlay/scripts/cmd": "#!/bin/sh\necho \"cmd GREETING=[$GREETING] $(with-contenv printenv GREETING) saved=$(ls /run/s6/container_environment 2>/dev/null | wc -l)\" >> @EV@\n"})
	r := startS6Image(t, img, s6Opts{env: []string{"S6_KEEP_ENV=1", "GREETING=kept"}}, "/etc/s6-overlay/scripts/cmd")
	require.Equal(t, 0, r.wait(20*time.Second), "stderr: %s", r.stderr)
	r.waitLine("cmd GREETING=[kept] kept saved=0")

	r = startS6Image(t, img, s6Opts{env: []string{"GREETING=reset"}}, "/etc/s6-overlay/scripts/cmd")
	require.Equal(t, 0, r.wait(20*time.Second), "stderr: %s", r.stderr)
	r.waitLine("cmd GREETING=[] reset saved=3")
}

// An S6_LOGGING_SCRIPT svinit's multilog cannot take is a warning naming
// it; nothing is lost: everything goes to stdout and stderr.
func TestS6KnobLoggingBadScript(t *testing.T) {
	img := cmdImage(s6Image{"cont-init.d/10-say": "#!/bin/sh\necho \"cont-init says hi\"\n"})
	r := startS6Image(t, img, s6Opts{env: []string{"S6_LOGGING=1", "S6_LOGGING_SCRIPT=t T"}}, "/etc/s6-overlay/scripts/cmd")
	require.Equal(t, 5, r.wait(20*time.Second), "stderr: %s", r.stderr)
	require.Contains(t, r.stderr.String(), `svinit: warning: s6-overlay: S6_LOGGING=1: S6_LOGGING_SCRIPT="t T": both t and T: svinit's logger writes one stamp: everything goes to stdout and stderr`)
	require.Contains(t, r.stdout.String()+r.stderr.String(), "cont-init says hi")
}
