//go:build system

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// asNobody runs a command as uid/gid 65534 with no supplementary groups.
func asNobody(t *testing.T, argv ...string) (string, error) {
	t.Helper()
	args := append([]string{"--reuid=65534", "--regid=65534", "--clear-groups"}, argv...)
	out, err := exec.Command("setpriv", args...).CombinedOutput()
	return string(out), err
}

// A user other than svinit's can neither control a service (svc, sv, or a
// write into the FIFO) nor spoof its status, nor even read it: supervise/
// is 0700 and its FIFOs 0600, owned by svinit's user.
func TestUnprivilegedUserLockedOut(t *testing.T) {
	root := makeTree(t, map[string]files{"web": {"run": sh("exec sleep 1000")}})
	require.NoError(t, os.Chmod(filepath.Dir(root), 0o755)) // let nobody reach the tree
	r := startTree(t, root)
	dir := filepath.Join(root, "web")
	before := waitState(t, dir, isUp, "up")
	sup := filepath.Join(dir, "supervise")

	for name, mode := range map[string]os.FileMode{"": 0o700 | os.ModeDir, "control": 0o600 | os.ModeNamedPipe, "ok": 0o600 | os.ModeNamedPipe, "lock": 0o600} {
		fi, err := os.Stat(filepath.Join(sup, name))
		require.NoError(t, err)
		require.Equal(t, mode, fi.Mode(), "supervise/%s", name)
		require.Equal(t, uint32(0), fi.Sys().(*syscall.Stat_t).Uid)
	}
	for _, argv := range [][]string{
		{svinit, "svc", "-d", dir},
		{"svc", "-d", dir},
		{svinit, "sv", "down", dir},
		{"sv", "down", dir},
	} {
		out, _ := asNobody(t, argv...)
		require.Regexp(t, `(access denied|permission denied|unable to open supervise/ok)`, out, "%v", argv)
	}
	for _, script := range []string{
		"echo d > " + sup + "/control",
		"printf 'xxxxxxxxxxxxxxxxxxxx' > " + sup + "/status",
		"ln -sf /tmp/x " + sup + "/status.new",
		"cat " + sup + "/status",
	} {
		out, err := asNobody(t, "sh", "-c", script)
		require.Error(t, err, "%s: %s", script, out)
		require.Contains(t, out, "Permission denied", script)
	}
	out, _ := asNobody(t, svinit, "svstat", dir)
	require.Contains(t, out, "unable to open supervise/ok: access denied")

	now := statusOf(t, dir)
	require.Equal(t, before.Pid, now.Pid, "nothing changed")
	require.Equal(t, "up", now.State)
	require.Equal(t, "up", now.Want)
	require.NotContains(t, r.stderr.String(), "warning")
}

// Services start clean however svinit itself was started: fds 0, 1, 2 only,
// an empty signal mask, no ignored signals. (The probes exec at once: a
// shell keeps its script open on a fd of its own.)
func TestServicesStartClean(t *testing.T) {
	root := makeTree(t, map[string]files{
		"sig": {"run": sh("exec grep -E '^Sig(Blk|Ign)' /proc/self/status")},
		"fds": {"run": sh("exec ls /proc/self/fd")},
	})
	r := start(t, exec.Command("unshare", append([]string{"--pid", "--fork", "--mount-proc", "--kill-child"}, helper("wrap", svinit, "-s", root)...)...))
	r.waitOutput("sig: SigBlk:\t0000000000000000\nsig: SigIgn:\t0000000000000000\n")
	// ls's own fd 3 is the directory it lists; the wrapper's fd 5 must be gone.
	require.Eventually(t, func() bool { return strings.Contains(r.stderr.String(), "fds: ./run exited") },
		5*time.Second, 10*time.Millisecond)
	var fds []string
	for _, line := range strings.Split(r.stdout.String(), "\n") {
		if strings.HasPrefix(line, "fds: ") {
			if line == "fds: 0" && len(fds) > 0 {
				break
			}
			fds = append(fds, line)
		}
	}
	require.Equal(t, []string{"fds: 0", "fds: 1", "fds: 2", "fds: 3"}, fds)
}

// Not PID 1 (a sidecar, a subreaper): at shutdown svinit signals its own
// tree only — a process beside it, started by the same parent, survives.
func TestSubreaperSignalsOnlyItsTree(t *testing.T) {
	neighbour := exec.Command("sleep", "1000")
	require.NoError(t, neighbour.Start())
	t.Cleanup(func() { _ = neighbour.Process.Kill(); _ = neighbour.Wait() })
	daemon := filepath.Join(t.TempDir(), "daemon")
	root := makeTree(t, map[string]files{"web": {"run": sh("exec sleep 1000")}})
	r := startPlain(t, "--grace", "1s", "-s", root, "--", "sh", "-c", helperLine("daemon", daemon)+"; exec sleep 1000")
	waitState(t, filepath.Join(root, "web"), isUp, "up")
	require.Eventually(t, func() bool { b, _ := os.ReadFile(daemon); return strings.HasPrefix(string(b), "ready") },
		5*time.Second, 20*time.Millisecond)
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 143, r.wait(10*time.Second), r.stderr.String())
	require.Contains(t, r.stderr.String(), "a child subreaper")
	require.Contains(t, r.stderr.String(), "killed") // the daemon, in its tree, ignored TERM
	require.NoError(t, neighbour.Process.Signal(syscall.Signal(0)), "the neighbour is alive")
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(neighbour.Process.Pid) + "/stat")
	require.NotContains(t, string(b), ") Z ", "the neighbour is alive, not a zombie")
}
