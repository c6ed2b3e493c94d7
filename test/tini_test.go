//go:build system

package test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svinit/svinit/internal/testkit"
)

// The tini and dumb-init drop-ins are checked side by side with Debian's
// real programs (test/install-deps installs them): the same invocation under
// both, and the same observable result — exit code, stdout and stderr with
// pids normalised, the child's signal mask and ignored signals, its session
// and process group, who reaps the orphans, how long the init stays after
// the child, and which signals reach whom.

// peer is one init to compare: Debian's binary or svinit linked by the same
// name.
type peer struct {
	label string
	path  string
	name  string // argv[0]
}

// peers returns Debian's NAME and svinit linked as NAME.
func peers(t *testing.T, name string) []peer {
	t.Helper()
	debian := "/usr/bin/" + name
	_, err := os.Stat(debian)
	require.NoError(t, err, "Debian's %s is needed (test/install-deps)", name)
	link := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.Symlink(svinit, link))
	return []peer{{"debian", debian, name}, {"svinit", link, name}}
}

// outcome is what a script or a test can see of one run.
type outcome struct {
	Code   int
	Stdout string
	Stderr string
}

// peerCase is one invocation: args after argv[0], extra environment, an
// optional wrapper (e.g. a program that blocks signals, unshare) and an
// optional interaction with the running init once its stdout holds ready.
type peerCase struct {
	name    string
	args    []string
	env     []string
	wrap    []string
	ready   string
	act     func(t *testing.T, init int)
	within  time.Duration // the init must have exited this soon after start
	compare func(t *testing.T, debian, svinit outcome)
}

// perlSigconf blocks TTIN, ILL, TERM and ignores TTOU, INT and SIGRTMIN
// before it executes its arguments, as tini's own sigconf test does.
var perlSigconf = []string{"perl", "-e", `use POSIX; $SIG{TTOU}='IGNORE'; $SIG{INT}='IGNORE'; $SIG{RTMIN}='IGNORE';
sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGTTIN, SIGILL, SIGTERM)); exec @ARGV or exit 99;`}

var pidPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\((\d+)\)`),                        // [WARN  tini (123)]
	regexp.MustCompile(`pid '(\d+)'`),                      // tini: with pid '123'
	regexp.MustCompile(`pid: '(\d+)'`),                     // tini: Reaped child with pid: '123'
	regexp.MustCompile(`pid=(\d+)`),                        // tini -w
	regexp.MustCompile(`with PID (\d+)`),                   // dumb-init -v
	regexp.MustCompile(`(?m)^(?:pid|ppid|pgid|sid)=(\d+)`), // the cases' own reports
}

// normalise replaces the init's pid by INIT and every other by P1, P2...
// in the order met (labels shared by stdout and stderr), so that equal pids
// stay equal: a child that leads its own group shows pid=P1 pgid=P1.
func normalisePids(s string, init int, labels map[string]string) string {
	for _, re := range pidPatterns {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			sub := re.FindStringSubmatch(m)
			repl, ok := labels[sub[1]]
			switch {
			case ok:
			case sub[1] == strconv.Itoa(init):
				repl = "INIT"
			default:
				repl = fmt.Sprintf("P%d", len(labels)+1)
			}
			labels[sub[1]] = repl
			return strings.Replace(m, sub[1], repl, 1)
		})
	}
	return s
}

// runPeer runs c under p and returns what was seen.
func runPeer(t *testing.T, p peer, c peerCase) outcome {
	t.Helper()
	argv := append(append(append([]string{}, c.wrap...), p.path), c.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Args[len(c.wrap)] = p.name
	if len(c.wrap) > 0 {
		// the wrapper executes the init by path; argv[0] is the path's base
		cmd.Args[len(c.wrap)] = p.path
	}
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer killTree(cmd.Process.Pid)
	init := cmd.Process.Pid
	if c.ready != "" {
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			if !strings.Contains(stdout.String(), c.ready) {
				ct.Errorf("%s: waiting for %q in %q / %q", p.label, c.ready, stdout.String(), stderr.String())
			}
		}, 10*time.Second, 5*time.Millisecond)
	}
	if c.act != nil {
		c.act(t, init)
	}
	within := c.within
	if within == 0 {
		within = 10 * time.Second
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Until(began.Add(within))):
		t.Fatalf("%s %v: still running after %v\nstdout: %s\nstderr: %s", p.label, c.args, within, stdout.String(), stderr.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else {
		require.NoError(t, err)
	}
	labels := map[string]string{}
	out := normalisePids(strings.ReplaceAll(stdout.String(), p.path, "NAME"), init, labels)
	return outcome{code, out, normalisePids(strings.ReplaceAll(stderr.String(), p.path, "NAME"), init, labels)}
}

// sideBySide runs each case under both peers and compares.
func sideBySide(t *testing.T, name string, cases []peerCase) {
	ps := peers(t, name)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := runPeer(t, ps[0], c)
			s := runPeer(t, ps[1], c)
			if c.compare != nil {
				c.compare(t, d, s)
				return
			}
			require.Equal(t, d, s, "Debian's %s (want) and svinit as %s (got) differ for %v", name, name, c.args)
		})
	}
}

// sh runs a shell script as the child.
func shArgs(script string) []string { return []string{"sh", "-c", script} }

// orphanScript leaves a grandchild behind whose parent is reported once
// its own parent has exited: the init's pid (INIT) when the init reaps
// orphans, another otherwise.
const orphanScript = `(sh -c 'sleep 0.3; echo "ppid=$(awk "/^PPid/{print \\$2}" /proc/self/status)"' &) ; sleep 0.8`

// childState: the child's mask, ignored signals, process group and session
// relative to the init's.
const childState = `grep -E "^Sig(Blk|Ign)" /proc/self/status; echo "pgid=$(ps -o pgid= $$ | tr -d " ")"; ` +
	`echo "sid=$(ps -o sid= $$ | tr -d " ")"; echo "pid=$$"; echo "ppid=$PPID"`

// noShebang is an executable script without a #! line: execvp runs it with
// /bin/sh.
func noShebang(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "no-shebang")
	require.NoError(t, os.WriteFile(p, []byte("echo run by sh: $0\n"), 0o755))
	return p
}

func TestTiniSideBySide(t *testing.T) {
	script := noShebang(t)
	sideBySide(t, "tini", []peerCase{
		{name: "a directory", args: []string{"/etc"}},
		{name: "not found in PATH", args: []string{"svinit-no-such-program"}},
		{name: "a script without #!", args: []string{script}},
		{name: "no arguments", args: nil},
		{name: "help", args: []string{"-h"}},
		{name: "bad flag", args: []string{"-x", "true"}},
		{name: "missing value", args: []string{"true", "-e"}},
		{name: "bad -e", args: []string{"-e", "300", "true"}},
		{name: "bad -p", args: []string{"-p", "TERM", "true"}},
		{name: "options after the program are tini's", args: shArgs("exit 3")},
		{name: "exit code", args: append([]string{"--"}, shArgs("exit 3")...)},
		{name: "-e remaps", args: append([]string{"-e", "3", "-e", "4", "--"}, shArgs("exit 3")...)},
		{name: "-e other code", args: append([]string{"-e", "4", "--"}, shArgs("exit 3")...)},
		{name: "killed child", args: append([]string{"--"}, shArgs("kill -9 $$")...)},
		{name: "not found", args: []string{"/nonexistent/prog"}},
		{name: "not executable", args: []string{"/etc/passwd"}},
		{name: "version", args: []string{"--version"}, compare: func(t *testing.T, d, s outcome) {
			require.Equal(t, d.Code, s.Code)
			require.Equal(t, d.Stdout, s.Stdout)
		}},
		{name: "license", args: []string{"-l"}, compare: func(t *testing.T, d, s outcome) {
			require.Equal(t, d.Code, s.Code)
			require.Contains(t, s.Stdout, "MIT License")
		}},
		{name: "verbose", args: append([]string{"-vv", "--"}, shArgs("exit 2")...)},
		{name: "TINI_VERBOSITY=0: no warning", env: []string{"TINI_VERBOSITY=0"}, args: []string{"true"}},
		{name: "child state", args: append([]string{"--"}, shArgs(childState)...)},
		{name: "child state, inherited mask", wrap: perlSigconf, args: append([]string{"-s", "--"}, shArgs(childState)...)},
		{name: "no subreaper: orphans go elsewhere", args: append([]string{"--"}, shArgs(orphanScript)...)},
		{name: "-s: a subreaper", args: append([]string{"-s", "--"}, shArgs(orphanScript)...)},
		{name: "TINI_SUBREAPER", env: []string{"TINI_SUBREAPER="}, args: append([]string{"--"}, shArgs(orphanScript)...)},
		{name: "-w warns about zombies", args: append([]string{"-s", "-w", "--"}, shArgs(orphanScript)...)},
		{name: "exits as soon as the child is gone", args: append([]string{"-s", "--"}, shArgs("sleep 30 >/dev/null 2>&1 & exit 5")...), within: 3 * time.Second},
		{name: "cwd kept", args: append([]string{"--"}, shArgs(`readlink /proc/$PPID/cwd`)...)},
		{name: "TERM to the child", ready: "ready", act: signalInit(syscall.SIGTERM),
			args: append([]string{"-s", "--"}, shArgs(`trap 'echo term; exit 7' TERM; echo ready; while :; do sleep 0.01; done`)...)},
		{name: "USR1 to the child alone",
			ready: "ready", act: signalInit(syscall.SIGUSR1),
			args: append([]string{"-s", "--"}, shArgs(`trap 'echo child; exit 3' USR1; sh -c 'trap "echo grandchild" USR1; sleep 1; exit 0' & sleep 0.1; echo ready; while :; do sleep 0.01; done`)...)},
		{name: "-g: USR1 to the group",
			ready: "ready", act: signalInit(syscall.SIGUSR1),
			args: append([]string{"-s", "-g", "--"}, shArgs(`exec 2>/dev/null; trap 'wait; echo child; exit 3' USR1; sh -c 'trap "echo grandchild; exit 0" USR1; while :; do sleep 0.01; done' & sleep 0.1; echo ready; while :; do sleep 0.01; done`)...)},
		{name: "TINI_KILL_PROCESS_GROUP", env: []string{"TINI_KILL_PROCESS_GROUP=1"},
			ready: "ready", act: signalInit(syscall.SIGUSR1),
			args: append([]string{"-s", "--"}, shArgs(`exec 2>/dev/null; trap 'wait; echo child; exit 3' USR1; sh -c 'trap "echo grandchild; exit 0" USR1; while :; do sleep 0.01; done' & sleep 0.1; echo ready; while :; do sleep 0.01; done`)...)},
		{name: "as PID 1: no warning, orphans reaped", wrap: []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"},
			args: append([]string{"-w", "--"}, shArgs(`(sleep 0.1 &) ; sleep 0.5; echo done`)...)},
	})
}

// signalInit sends sig to the init.
func signalInit(sig syscall.Signal) func(t *testing.T, init int) {
	return func(t *testing.T, init int) { require.NoError(t, syscall.Kill(init, sig)) }
}

// processState is the state letter of /proc/PID/stat.
func processState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || len(b) < i+3 {
		return 0
	}
	return b[i+2]
}

// killTree KILLs pid and every process below it (a failed case leaves the
// init running, and its children looping).
func killTree(pid int) {
	var all []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children(p) {
			walk(c)
			all = append(all, c)
		}
	}
	walk(pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for _, p := range all {
		_ = syscall.Kill(p, syscall.SIGCONT)
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}
