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

// myInitImage is a baseimage-docker style layout under a temporary root
// (SVINIT_MY_INIT_ROOT): /etc/my_init.d, /etc/rc.local, runit's
// /etc/service, /etc/container_environment (0700, with a variable baked
// into the image), and svinit installed as /sbin/my_init.
type myInitImage struct {
	t    *testing.T
	root string
}

func newMyInitImage(t *testing.T) *myInitImage {
	t.Helper()
	m := &myInitImage{t: t, root: t.TempDir()}
	for _, d := range []string{"etc/my_init.d", "etc/service", "sbin"} {
		require.NoError(t, os.MkdirAll(m.path(d), 0o755))
	}
	require.NoError(t, os.Mkdir(m.path("etc/container_environment"), 0o700))
	m.write("etc/container_environment/BAKED", "from-image\n", 0o644)
	require.NoError(t, os.Symlink(svinit, m.path("sbin/my_init")))
	return m
}

func (m *myInitImage) path(p string) string { return filepath.Join(m.root, p) }

func (m *myInitImage) write(p, content string, mode os.FileMode) {
	m.t.Helper()
	require.NoError(m.t, os.MkdirAll(filepath.Dir(m.path(p)), 0o755))
	require.NoError(m.t, os.WriteFile(m.path(p), []byte(content), mode))
}

// script writes an executable shell script; $ROOT in body is the root.
func (m *myInitImage) script(p, body string) {
	m.write(p, "#!/bin/sh\nROOT="+m.root+"\n"+body+"\n", 0o755)
}

func (m *myInitImage) read(p string) string {
	m.t.Helper()
	b, err := os.ReadFile(m.path(p))
	require.NoError(m.t, err, p)
	return string(b)
}

// start runs /sbin/my_init ARGS as PID 1 of a new PID namespace, with env
// added to the test's environment.
func (m *myInitImage) start(env []string, args ...string) *run {
	argv := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", m.path("sbin/my_init")}, args...)
	cmd := exec.Command("unshare", argv...)
	cmd.Env = append(append(environNoSecrets(), "SVINIT_MY_INIT_ROOT="+m.root), env...)
	return start(m.t, cmd)
}

// waitFile waits until p exists under the root, and returns its content.
func (m *myInitImage) waitFile(p string) string {
	m.t.Helper()
	var out string
	require.EventuallyWithT(m.t, func(c *assert.CollectT) {
		b, err := os.ReadFile(m.path(p))
		if assert.NoError(c, err) {
			out = string(b)
		}
	}, 10*time.Second, 5*time.Millisecond)
	return out
}

// TestMyInitImage: a baseimage-style image runs under svinit as
// /sbin/my_init with nothing changed: the start-up files in lexical order
// (a non-executable one skipped) then rc.local, each seeing the variables
// the one before added to /etc/container_environment; a config templated
// from the container's environment; two runit services, one reading
// /etc/container_environment.sh, one its inherited environment; the CMD
// after them, its exit code svinit's.
func TestMyInitImage(t *testing.T) {
	m := newMyInitImage(t)
	m.script("etc/my_init.d/10_config", `echo 10 >> $ROOT/order
echo "greeting = $GREETING" > $ROOT/etc/app.conf
printf 'from-script\n' > $ROOT/etc/container_environment/FROM_SCRIPT`)
	m.script("etc/my_init.d/20_second", `echo "20 $FROM_SCRIPT" >> $ROOT/order`)
	m.write("etc/my_init.d/15_not_executable", "#!/bin/sh\necho 15 >> "+m.path("order")+"\n", 0o644)
	m.script("etc/rc.local", `echo "rc $FROM_SCRIPT" >> $ROOT/order`)
	m.script("etc/service/web/run", `. $ROOT/etc/container_environment.sh
echo "web: $GREETING, $FROM_SCRIPT" > $ROOT/web.out.tmp && mv $ROOT/web.out.tmp $ROOT/web.out
exec sleep 1000`)
	m.script("etc/service/worker/run", `echo "worker: $BAKED, $FROM_SCRIPT, ${HOME-no home}" > $ROOT/worker.out.tmp && mv $ROOT/worker.out.tmp $ROOT/worker.out
exec sleep 1000`)
	cmd := `while ! [ -e ` + m.path("web.out") + ` ] || ! [ -e ` + m.path("worker.out") + ` ]; do sleep 0.01; done
echo "cmd: $FROM_SCRIPT $GREETING"; exit 7`
	r := m.start([]string{"GREETING=hello world", "HOME=/root"}, "--", "sh", "-c", cmd)

	require.Equal(t, 7, r.wait(20*time.Second), "stderr: %s", r.stderr)
	require.Equal(t, "10\n20 from-script\nrc from-script\n", m.read("order"))
	require.Equal(t, "greeting = hello world\n", m.read("etc/app.conf"))
	require.Equal(t, "web: hello world, from-script\n", m.read("web.out"))
	require.Equal(t, "worker: from-image, from-script, no home\n", m.read("worker.out"),
		"my_init's re-import after a start-up file: the environment is the directory's (HOME is never dumped)")
	require.Contains(t, r.stdout.String(), "cmd: from-script hello world\n")
	for _, f := range []string{"10_config", "20_second"} {
		require.Contains(t, r.stderr.String(), "*** Running "+m.path("etc/my_init.d/"+f)+"...\n")
	}
	require.Contains(t, r.stderr.String(), "*** Running "+m.path("etc/rc.local")+"...\n")
	require.Contains(t, r.stderr.String(), "*** Booting runit daemon...\n*** Running sh -c ")

	// The dump, as my_init writes it.
	require.Equal(t, "hello world", m.read("etc/container_environment/GREETING"))
	require.NoFileExists(t, m.path("etc/container_environment/HOME"))
	require.NoFileExists(t, m.path("etc/container_environment/SVINIT_MY_INIT_ROOT"))
	sh := m.read("etc/container_environment.sh")
	require.Contains(t, sh, "export GREETING='hello world'\n")
	require.Contains(t, sh, "export BAKED=from-image\n")
	require.Contains(t, sh, "export FROM_SCRIPT=from-script\n")
	require.NotContains(t, sh, "HOME")
	js := m.read("etc/container_environment.json")
	require.True(t, strings.HasPrefix(js, "{") && strings.HasSuffix(js, "}"), js)
	require.Contains(t, js, `"GREETING": "hello world"`)
	require.Contains(t, js, `"FROM_SCRIPT": "from-script"`)
}

// TestMyInitFailingStartupFile: a start-up file that fails ends the boot
// as in my_init: exit code 1, the files after it, the services and the CMD
// never run.
func TestMyInitFailingStartupFile(t *testing.T) {
	m := newMyInitImage(t)
	m.script("etc/my_init.d/10_fail", `exit 3`)
	m.script("etc/my_init.d/20_after", `touch $ROOT/after`)
	m.script("etc/rc.local", `touch $ROOT/rc`)
	m.script("etc/service/web/run", `touch $ROOT/web; exec sleep 1000`)
	r := m.start(nil, "--", "touch", m.path("cmd"))
	require.Equal(t, 1, r.wait(10*time.Second), "stderr: %s", r.stderr)
	require.Contains(t, r.stderr.String(), "*** "+m.path("etc/my_init.d/10_fail")+" failed with status 3\n\n")
	for _, f := range []string{"after", "rc", "web", "cmd"} {
		require.NoFileExists(t, m.path(f))
	}
}

// TestMyInitSkipStartupFiles: --skip-startup-files runs neither my_init.d
// nor rc.local; the environment is still dumped.
func TestMyInitSkipStartupFiles(t *testing.T) {
	m := newMyInitImage(t)
	m.script("etc/my_init.d/10_x", `touch $ROOT/ran`)
	m.script("etc/rc.local", `touch $ROOT/rc`)
	r := m.start([]string{"V=1"}, "--skip-startup-files", "--skip-runit", "--", "true")
	require.Equal(t, 0, r.wait(10*time.Second), "stderr: %s", r.stderr)
	require.NoFileExists(t, m.path("ran"))
	require.NoFileExists(t, m.path("rc"))
	require.Equal(t, "1", m.read("etc/container_environment/V"))
}

// TestMyInitSkipRunit: --skip-runit supervises nothing; the CMD's code is
// svinit's.
func TestMyInitSkipRunit(t *testing.T) {
	m := newMyInitImage(t)
	m.script("etc/service/web/run", `touch $ROOT/web; exec sleep 1000`)
	m.script("etc/my_init.d/10_x", `touch $ROOT/ran`)
	r := m.start(nil, "--skip-runit", "sh", "-c", "exit 5")
	require.Equal(t, 5, r.wait(10*time.Second), "stderr: %s", r.stderr)
	require.FileExists(t, m.path("ran"))
	require.NoFileExists(t, m.path("web"))
	require.NoDirExists(t, m.path("etc/service/web/supervise"))
}

// TestMyInitSkipRunitNoCommand: --skip-runit without a CMD is refused as
// my_init refuses it: exit code 1 before anything runs.
func TestMyInitSkipRunitNoCommand(t *testing.T) {
	m := newMyInitImage(t)
	m.script("etc/my_init.d/10_x", `touch $ROOT/ran`)
	r := m.start(nil, "--skip-runit")
	require.Equal(t, 1, r.wait(10*time.Second), "stderr: %s", r.stderr)
	require.Equal(t, "*** When --skip-runit is given, you must also pass a main command.\n", r.stderr.String())
	require.NoFileExists(t, m.path("ran"))
	require.NoFileExists(t, m.path("etc/container_environment.sh"))
}

// TestMyInitEnvInitDirectory: my_init's ENV_INIT_DIRECTORY replaces
// /etc/my_init.d.
func TestMyInitEnvInitDirectory(t *testing.T) {
	m := newMyInitImage(t)
	m.script("etc/my_init.d/10_x", `touch $ROOT/default`)
	m.script("opt/init/10_y", `touch $ROOT/other`)
	r := m.start([]string{"ENV_INIT_DIRECTORY=/opt/init"}, "--skip-runit", "true")
	require.Equal(t, 0, r.wait(10*time.Second), "stderr: %s", r.stderr)
	require.FileExists(t, m.path("other"))
	require.NoFileExists(t, m.path("default"))
}

// TestMyInitRunitOnly: without a CMD, the runit services run until svinit
// is stopped; exit code 0.
func TestMyInitRunitOnly(t *testing.T) {
	m := newMyInitImage(t)
	m.script("etc/service/web/run", `echo up > $ROOT/web.tmp && mv $ROOT/web.tmp $ROOT/web; exec sleep 1000`)
	r := m.start(nil)
	require.Equal(t, "up\n", m.waitFile("web"))
	require.EventuallyWithT(t, func(c *assert.CollectT) { // Debian's sv, as against runsv
		out, code := tool(t, "sv", "status", m.path("etc/service/web"))
		assert.Equal(c, 0, code, out)
		assert.True(c, strings.HasPrefix(out, "run: "), out)
	}, 10*time.Second, 10*time.Millisecond)
	r.signal(syscall.SIGTERM)
	require.Equal(t, 0, r.wait(10*time.Second), "stderr: %s", r.stderr)
}

// TestMyInitQuiet: --quiet leaves out my_init's "*** Running" lines, not
// its errors.
func TestMyInitQuiet(t *testing.T) {
	m := newMyInitImage(t)
	m.script("etc/my_init.d/10_x", `true`)
	m.script("etc/my_init.d/20_fail", `exit 4`)
	r := m.start(nil, "--quiet", "--skip-runit", "--", "true")
	require.Equal(t, 1, r.wait(10*time.Second), "stderr: %s", r.stderr)
	require.NotContains(t, r.stderr.String(), "*** Running")
	require.Contains(t, r.stderr.String(), "failed with status 4")
}

// TestMyInitRefusedOptions: --enable-insecure-key and --no-kill-all-on-exit
// are named in a warning; the image still runs.
func TestMyInitRefusedOptions(t *testing.T) {
	m := newMyInitImage(t)
	r := m.start(nil, "--enable-insecure-key", "--no-kill-all-on-exit", "--skip-runit", "--", "sh", "-c", "exit 3")
	require.Equal(t, 3, r.wait(10*time.Second), "stderr: %s", r.stderr)
	require.Contains(t, r.stderr.String(), "warning: my_init: --enable-insecure-key refused")
	require.Contains(t, r.stderr.String(), "warning: my_init: --no-kill-all-on-exit not honoured")
}

// TestMyInitUsage: an unknown option is argparse's error, exit code 2; -h
// is the help.
func TestMyInitUsage(t *testing.T) {
	m := newMyInitImage(t)
	out, code := tool(t, m.path("sbin/my_init"), "--bogus")
	require.Equal(t, 2, code)
	require.Contains(t, out, "my_init: error: unrecognized arguments: --bogus")
	out, code = tool(t, m.path("sbin/my_init"), "-h")
	require.Equal(t, 0, code)
	require.Contains(t, out, "--skip-startup-files")
}

// stopTime starts the image with env, a service that ignores TERM, and
// returns how long svinit took to exit after TERM.
func (m *myInitImage) stopTime(env []string) (time.Duration, *run) {
	m.t.Helper()
	m.script("etc/service/stubborn/run", `trap '' TERM; echo up > $ROOT/stubborn; while :; do sleep 0.05; done`)
	r := m.start(env)
	m.waitFile("stubborn")
	t0 := time.Now()
	r.signal(syscall.SIGTERM)
	r.wait(20 * time.Second)
	return time.Since(t0), r
}

// TestMyInitKillTimeouts: KILL_PROCESS_TIMEOUT + KILL_ALL_PROCESSES_TIMEOUT
// is svinit's shutdown deadline (default 8 s). The deadline is read from
// svinit's own line; the time only bounds it from below (a loaded machine
// may be slow, never early).
func TestMyInitKillTimeouts(t *testing.T) {
	d, r := newMyInitImage(t).stopTime([]string{"KILL_PROCESS_TIMEOUT=1", "KILL_ALL_PROCESSES_TIMEOUT=1"})
	require.GreaterOrEqual(t, d, 2*time.Second, "stderr: %s", r.stderr)
	require.Contains(t, r.stderr.String(), "shutdown deadline of 2s is over")

	d, r = newMyInitImage(t).stopTime([]string{"KILL_PROCESS_TIMEOUT=1"})
	require.GreaterOrEqual(t, d, time.Second, "stderr: %s", r.stderr)
	require.Contains(t, r.stderr.String(), "shutdown deadline of 1s is over")
}

// TestMyInitGraceWins: SVINIT_GRACE wins over my_init's timeouts, which are
// then named in a warning.
func TestMyInitGraceWins(t *testing.T) {
	_, r := newMyInitImage(t).stopTime([]string{"KILL_PROCESS_TIMEOUT=30", "SVINIT_GRACE=1"})
	require.Contains(t, r.stderr.String(), "shutdown deadline of 1s is over")
	require.Contains(t, r.stderr.String(), "KILL_PROCESS_TIMEOUT and KILL_ALL_PROCESSES_TIMEOUT not honoured: SVINIT_GRACE sets the deadline")
}

// TestMyInitAbortedStartup: TERM while a start-up file runs is passed on to
// it, and the boot ends as my_init's: "Init system aborted.", code 2;
// nothing else starts.
func TestMyInitAbortedStartup(t *testing.T) {
	m := newMyInitImage(t)
	m.script("etc/my_init.d/10_slow", `trap 'echo got TERM > $ROOT/term; exit 0' TERM; touch $ROOT/slow; while :; do sleep 0.05; done`)
	m.script("etc/service/web/run", `touch $ROOT/web; exec sleep 1000`)
	r := m.start(nil, "--", "touch", m.path("cmd"))
	m.waitFile("slow")
	r.signal(syscall.SIGTERM)
	require.Equal(t, 2, r.wait(10*time.Second), "stderr: %s", r.stderr)
	require.Equal(t, "got TERM\n", m.read("term"))
	require.Contains(t, r.stderr.String(), "*** Init system aborted.\n")
	require.NoFileExists(t, m.path("web"))
	require.NoFileExists(t, m.path("cmd"))
}

// TestMyInitAbortedStartupDeadline: a start-up file that ignores TERM is
// KILLed at the deadline (here KILL_PROCESS_TIMEOUT), and the boot ends
// with code 2.
func TestMyInitAbortedStartupDeadline(t *testing.T) {
	m := newMyInitImage(t)
	m.script("etc/my_init.d/10_stubborn", `trap '' TERM; touch $ROOT/slow; while :; do sleep 0.05; done`)
	r := m.start([]string{"KILL_PROCESS_TIMEOUT=1"}, "--", "touch", m.path("cmd"))
	m.waitFile("slow")
	t0 := time.Now()
	r.signal(syscall.SIGTERM)
	require.Equal(t, 2, r.wait(10*time.Second), "stderr: %s", r.stderr)
	require.GreaterOrEqual(t, time.Since(t0), time.Second)
	require.Contains(t, r.stderr.String(), "shutdown deadline of 1s is over")
	require.Contains(t, r.stderr.String(), "*** Init system aborted.\n")
	require.NoFileExists(t, m.path("cmd"))
}
