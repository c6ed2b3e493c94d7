//go:build system

package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pid1 "github.com/svinit/svinit/init"
	"golang.org/x/sys/unix"
)

// Every exit code 0..255 of the main command comes back unchanged.
func TestExitCodes(t *testing.T) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	codes := make([]int, 256)
	for code := 0; code < 256; code++ {
		wg.Add(1)
		go func(code int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := startNS(t, helper("exit", strconv.Itoa(code))...)
			codes[code] = r.wait(20 * time.Second)
		}(code)
	}
	wg.Wait()
	for code, got := range codes {
		require.Equal(t, code, got, "exit code %d", code)
	}
}

// Every forwardable signal reaches a main command that catches it.
func TestSignalsReachMainCommand(t *testing.T) {
	sigs := pid1.ForwardableSignals()
	r := startNS(t, helper("catch", strconv.Itoa(len(sigs)))...)
	r.waitOutput("ready\n")
	for _, s := range sigs {
		r.signal(s)
		r.waitOutput(fmt.Sprintf("got %d\n", int(s)))
	}
	require.Equal(t, 0, r.wait(10*time.Second))
}

// A forwardable signal whose default action is to terminate comes back as
// 128+N from a main command that does not catch it.
func TestUncaughtSignalExitCodes(t *testing.T) {
	for _, sig := range pid1.ForwardableSignals() {
		switch sig {
		case unix.SIGCONT, unix.SIGWINCH, unix.SIGTSTP: // default: ignore or stop
			continue
		}
		t.Run(unix.SignalName(sig)+"/"+strconv.Itoa(int(sig)), func(t *testing.T) {
			t.Parallel()
			r := startNS(t, "sleep", "1000")
			waitForChildComm(t, r.initPid(), "sleep")
			r.signal(sig)
			require.Equal(t, 128+int(sig), r.wait(10*time.Second))
		})
	}
}

func waitForChildComm(t *testing.T, pid int, comm string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, c := range children(pid) {
			b, _ := os.ReadFile("/proc/" + strconv.Itoa(c) + "/comm")
			if strings.TrimSpace(string(b)) == comm {
				return true
			}
		}
		return false
	}, 5*time.Second, time.Millisecond)
}

// 2,000 double-forked orphans that exit at once are all reaped while the
// main command still runs, and svinit exits with the main command's code.
// How fast the helper forks is the machine's (bench/pid1bench times
// reaping): the test waits while the storm makes progress.
func TestOrphanStorm(t *testing.T) {
	const n = 2000
	made := filepath.Join(t.TempDir(), "made")
	r := startNS(t, helper("storm", strconv.Itoa(n), made)...)
	waitProgress(t, "orphans made", n, 20*time.Second, func() int64 { return countIn(made) })
	// The helper itself fails (99) if the zombies stop going for 10 s.
	require.Equal(t, 7, r.wait(30*time.Second), "stdout: %s stderr: %s", r.stdout, r.stderr)
	require.Contains(t, r.stdout.String(), "no zombies")
}

// A daemon that double-forks and ignores TERM outlives the main command: it
// gets TERM, and KILL at the end of the grace period.
func TestDaemonKilledAfterGrace(t *testing.T) {
	file := filepath.Join(t.TempDir(), "daemon")
	lag := machineLag(time.Second)
	began := time.Now()
	r := startNS(t, append([]string{"--grace", "1s", "--"}, helper("daemon", file)...)...)
	require.Equal(t, 0, r.wait(10*time.Second))
	took := time.Since(began)
	require.GreaterOrEqual(t, took, time.Second)
	// A second for svinit's start, the daemon's, and its end; plus the
	// machine's lateness meanwhile.
	require.Less(t, took, 2*time.Second+lag())
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "ready\nTERM\n", string(b))
	require.Contains(t, r.stderr.String(), "shutdown deadline of 1s is over: killed 1 remaining processes")
}

// A left-over process that exits on TERM does not make svinit wait the grace.
func TestLeftoverExitsOnTerm(t *testing.T) {
	file := filepath.Join(t.TempDir(), "daemon")
	began := time.Now()
	r := startNS(t, append([]string{"--grace", "5s", "--"}, helper("daemon", file, "polite")...)...)
	require.Equal(t, 0, r.wait(10*time.Second))
	require.Less(t, time.Since(began), 5*time.Second, "not left for the deadline")
}

// SVINIT_GRACE sets the grace period too.
func TestGraceFromEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "daemon")
	began := time.Now()
	r := startNSEnv(t, []string{"SVINIT_GRACE=0.3"}, helper("daemon", file)...)
	require.Equal(t, 0, r.wait(10*time.Second))
	took := time.Since(began)
	require.GreaterOrEqual(t, took, 300*time.Millisecond, "the daemon ignores TERM until the deadline")
	require.Less(t, took, pid1.DefaultGrace, "not the default grace")
}

// The main command starts with an empty signal mask, default dispositions and
// fds 0, 1, 2 only, even when svinit's own parent left it a mess.
func TestMainCommandStartsClean(t *testing.T) {
	probe := func(cmd ...string) string {
		argv := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child"}, helper("wrap", append([]string{svinit, "--"}, cmd...)...)...)
		r := start(t, exec.Command("unshare", argv...))
		require.Equal(t, 0, r.wait(10*time.Second), r.stderr.String())
		return r.stdout.String()
	}
	require.Equal(t, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n",
		probe("grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"))
	// ls's own fd 3 is the directory it lists; the wrapper's fd 5 must be gone.
	require.Equal(t, "0\n1\n2\n3\n", probe("ls", "/proc/self/fd"))
}

// Not PID 1: svinit becomes a child subreaper, so a double-forked orphan is
// adopted by svinit and reaped.
func TestSubreaperAdoptsOrphans(t *testing.T) {
	file := filepath.Join(t.TempDir(), "adopted")
	r := startPlain(t, helper("orphan", file)...)
	require.Equal(t, 0, r.wait(10*time.Second), r.stderr.String())
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(r.cmd.Process.Pid)+"\n", string(b))
	require.NotContains(t, r.stderr.String(), "warning")
}

// -g forwards to the whole process group of the main command; without it
// only the main command gets the signal.
func TestGroupForwarding(t *testing.T) {
	for _, group := range []bool{false, true} {
		t.Run(fmt.Sprint("group=", group), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "got")
			args := helper("group", file)
			if group {
				args = append([]string{"-g", "--"}, args...)
			}
			r := startNS(t, args...)
			r.waitOutput("parent ready\n")
			r.waitOutput("child ready\n")
			r.signal(syscall.SIGUSR1)
			require.Equal(t, 0, r.wait(10*time.Second))
			b, _ := os.ReadFile(file)
			lines := strings.Fields(string(b))
			if group {
				require.ElementsMatch(t, []string{"parent", "USR1", "child", "USR1"}, lines)
			} else {
				require.Equal(t, []string{"parent", "USR1"}, lines)
			}
		})
	}
}

// A main command that cannot be started: 127 when it does not exist, 126
// when it cannot be executed, each with a message naming the file.
func TestUnstartableCommand(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "script")
	require.NoError(t, os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644))
	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{filepath.Join(dir, "missing"), 127, "file does not exist"},
		{"no-such-command-anywhere", 127, "file does not exist"},
		{notExec, 126, "access denied (not executable?)"},
		{dir, 126, "access denied (not executable?)"},
	} {
		r := startNS(t, tc.path)
		require.Equal(t, tc.code, r.wait(10*time.Second), tc.path)
		require.Contains(t, r.stderr.String(), "svinit: fatal: unable to start "+tc.path+": "+tc.msg)
	}
}

// -e maps an exit code to 0.
func TestExitCodeMapping(t *testing.T) {
	r := startNS(t, append([]string{"-e", "143", "-e", "3", "--"}, helper("exit", "143")...)...)
	require.Equal(t, 0, r.wait(10*time.Second))
	r = startNS(t, append([]string{"-e", "3", "--"}, helper("exit", "4")...)...)
	require.Equal(t, 4, r.wait(10*time.Second))
}

// Bad options: a clear message and exit 100, nothing started.
func TestBadOptions(t *testing.T) {
	for _, args := range [][]string{{"-e", "x", "true"}, {"--grace", "soon", "true"}, {"-Z"}, {"--rescan", "x"}} {
		r := startPlain(t, args...)
		require.Equal(t, 100, r.wait(5*time.Second), args)
		require.Contains(t, r.stderr.String(), "svinit: fatal: ")
	}
}
