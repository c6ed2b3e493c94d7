//go:build system

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sideConf is one supervisord.conf run as it is by Debian's supervisord
// and by svinit, each in its own directory (%(here)s keeps them apart).
const sideConf = `[unix_http_server]
file = %(here)s/s.sock
chmod = 0700

[supervisorctl]
serverurl = unix://%(here)s/s.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisord]
environment = GLOBAL="g 1",SHARED=global
childlogdir = %(here)s
logfile = %(here)s/supervisord.log
pidfile = %(here)s/supervisord.pid

[program:sleeper]
command = /bin/sleep "1001"   ; the argv as shlex splits it
directory = /tmp
user = nobody
umask = 027
environment = FOO="x,y",SHARED=program
stdout_logfile = %(here)s/sleeper.log

[program:quick]
command = /bin/sh -c 'echo x >> %(here)s/quick.count; exit 1'
startretries = 2
startsecs = 1

[program:expected]
command = /bin/sh -c 'echo x >> %(here)s/expected.count; sleep 1.5; exit 2'
exitcodes = 2
startsecs = 1

[program:unexpected]
command = /bin/sh -c 'echo x >> %(here)s/unexpected.count; sleep 1.2; exit 3'
startsecs = 1

[program:never]
command = /bin/sh -c 'echo x >> %(here)s/never.count; sleep 1.2; exit 3'
autorestart = false

[program:manual]
command = /bin/sleep 1002
autostart = false

[program:catcher]
command = /bin/sh -c 'trap "echo INT >> %(here)s/catcher.sig; exit 0" INT; trap "echo TERM >> %(here)s/catcher.sig; exit 0" TERM; echo hello; while :; do sleep 0.1; done'
stopsignal = INT
stdout_logfile = %(here)s/catcher.log
stdout_logfile_maxbytes = 0

[program:web]
command = /bin/sleep 10%(process_num)d
process_name = %(program_name)s_%(process_num)02d
numprocs = 2

[program:chatty]
command = /bin/sh -c 'for b in 1 2 3 4; do i=0; while [ $i -lt 20 ]; do echo "burst $b line $i .................................................."; i=$((i+1)); done; sleep 0.5; done; exec sleep 1003'
stdout_logfile = %(here)s/chatty.log
stdout_logfile_maxbytes = 1KB
stdout_logfile_backups = 2

[group:pair]
programs = catcher, manual
`

type supSide struct {
	name string
	dir  string
	cmd  *exec.Cmd
}

func startSupSide(t *testing.T, name string) *supSide {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	conf := filepath.Join(dir, "supervisord.conf")
	require.NoError(t, os.WriteFile(conf, []byte(sideConf), 0o644))
	var cmd *exec.Cmd
	if name == "supervisord" {
		cmd = exec.Command("supervisord", "-n", "-c", conf)
	} else {
		cmd = exec.Command(svinit, "--supervisord", conf, "--svinit-dir", filepath.Join(dir, "tree"))
	}
	cmd.Dir = dir
	out, err := os.Create(filepath.Join(dir, "stdout"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	s := &supSide{name: name, dir: dir, cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		out.Close()
	})
	return s
}

// ctl runs Debian's supervisorctl against the side.
func (s *supSide) ctl(args ...string) (string, int) {
	cmd := exec.Command("supervisorctl", append([]string{"-c", filepath.Join(s.dir, "supervisord.conf")}, args...)...)
	out, _ := cmd.CombinedOutput()
	return supNormalise(string(out), s.dir), cmd.ProcessState.ExitCode()
}

var (
	rePidUptime = regexp.MustCompile(`pid \d+, uptime \d+:\d\d:\d\d`)
	reDate      = regexp.MustCompile(`[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M`)
	reNumber    = regexp.MustCompile(`(?m)^\d+$`)
)

// supNormalise replaces what differs by nature: pids, uptimes, dates, the
// side's directory.
func supNormalise(s, dir string) string {
	s = rePidUptime.ReplaceAllString(s, "pid P, uptime U")
	s = reDate.ReplaceAllString(s, "DATE")
	s = reNumber.ReplaceAllString(s, "N")
	return strings.ReplaceAll(s, dir, "DIR")
}

func (s *supSide) pid(t *testing.T, name string) int {
	cmd := exec.Command("supervisorctl", "-c", filepath.Join(s.dir, "supervisord.conf"), "pid", name)
	out, _ := cmd.Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func supLines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

// supProcView is what a process looks like from /proc: argv, ids, umask, cwd,
// environment (the side's directory normalised).
func supProcView(t *testing.T, pid int, dir string) map[string]string {
	t.Helper()
	v := map[string]string{}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	require.NoError(t, err)
	v["argv"] = strings.ReplaceAll(string(b), "\x00", " | ")
	st, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	require.NoError(t, err)
	for _, l := range strings.Split(string(st), "\n") {
		k, val, _ := strings.Cut(l, ":")
		switch k {
		case "Uid", "Gid", "Groups", "Umask", "SigBlk", "SigIgn":
			v[k] = strings.Join(strings.Fields(val), " ")
		}
	}
	v["cwd"], _ = os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
	env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	require.NoError(t, err)
	vars := strings.Split(strings.TrimRight(string(env), "\x00"), "\x00")
	sort.Strings(vars)
	v["env"] = strings.ReplaceAll(strings.Join(vars, "\n"), dir, "DIR")
	return v
}

func TestSupervisordSideBySide(t *testing.T) {
	sides := []*supSide{startSupSide(t, "supervisord"), startSupSide(t, "svinit")}

	// Both up: the same status lines once the restart decisions are made.
	for _, s := range sides {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			out, _ := s.ctl("status")
			assert.Contains(c, out, "quick                            FATAL     Exited too quickly (process log may have details)")
			assert.Contains(c, out, "expected                         EXITED    DATE")
			assert.Contains(c, out, "never                            EXITED    DATE")
			assert.GreaterOrEqual(c, supLines(filepath.Join(s.dir, "unexpected.count")), 2)
		}, 30*time.Second, 100*time.Millisecond, s.name)
	}
	status := func(s *supSide) string {
		out, code := s.ctl("status")
		// unexpected restarts forever: STARTING or RUNNING depending on the moment
		out = regexp.MustCompile(`(?m)^(unexpected +)(STARTING|RUNNING|BACKOFF) .*$`).ReplaceAllString(out, "${1}ALIVE")
		return out + "exit " + strconv.Itoa(code)
	}
	require.Equal(t, status(sides[0]), status(sides[1]))
	require.Contains(t, status(sides[1]), "pair:manual                      STOPPED   Not started")

	// The same restart decisions: startretries 2 is 3 starts; an expected
	// exit code is not restarted, autorestart=false neither.
	for _, f := range []string{"quick.count", "expected.count", "never.count"} {
		require.Equal(t, supLines(filepath.Join(sides[0].dir, f)), supLines(filepath.Join(sides[1].dir, f)), f)
	}
	require.Equal(t, 3, supLines(filepath.Join(sides[1].dir, "quick.count")))
	require.Equal(t, 1, supLines(filepath.Join(sides[1].dir, "expected.count")))

	// The same process: argv, user, groups, umask, cwd, signal state,
	// environment.
	views := []map[string]string{}
	for _, s := range sides {
		views = append(views, supProcView(t, s.pid(t, "sleeper"), s.dir))
	}
	// The one difference: Python ignores SIGPIPE and SIGXFSZ and
	// supervisord's children inherit that (it forks and execs without
	// restoring them); svinit's get default dispositions, as a program
	// expects (docs/migrating-supervisord.md).
	require.Equal(t, "0000000001001000", views[0]["SigIgn"])
	require.Equal(t, "0000000000000000", views[1]["SigIgn"])
	delete(views[0], "SigIgn")
	delete(views[1], "SigIgn")
	require.Equal(t, views[0], views[1])
	require.Contains(t, views[1]["env"], "FOO=x,y\n")
	require.Contains(t, views[1]["env"], "SHARED=program\n")
	require.Equal(t, "0027", views[1]["Umask"])
	for _, s := range sides {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			b, _ := os.ReadFile(filepath.Join(s.dir, "catcher.log"))
			assert.Equal(c, "hello\n", string(b))
		}, 10*time.Second, 50*time.Millisecond, s.name)
	}

	// supervisord's rotation, by its names: chatty.log, .1, .2, no .3.
	for _, s := range sides {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			for _, f := range []string{"chatty.log", "chatty.log.1", "chatty.log.2"} {
				st, err := os.Stat(filepath.Join(s.dir, f))
				if assert.NoError(c, err, f) && f != "chatty.log" {
					assert.GreaterOrEqual(c, st.Size(), int64(1024), f)
				}
			}
		}, 10*time.Second, 50*time.Millisecond, s.name)
		_, err := os.Stat(filepath.Join(s.dir, "chatty.log.3"))
		require.True(t, os.IsNotExist(err), s.name)
	}

	// tail reads the log file through readProcessStdoutLog.
	var tails []string
	for _, s := range sides {
		out, code := s.ctl("tail", "pair:catcher")
		tails = append(tails, out+"exit "+strconv.Itoa(code))
	}
	require.Equal(t, tails[0], tails[1])
	require.Equal(t, "hello\n\nexit 0", tails[1])

	// svinit's own supervisorctl prints what Debian's prints.
	deb, debCode := sides[1].ctl("status")
	own := exec.Command(svinit, "supervisorctl", "-c", filepath.Join(sides[1].dir, "supervisord.conf"), "status")
	ownOut, _ := own.CombinedOutput()
	alive := regexp.MustCompile(`(?m)^(unexpected +)(STARTING|RUNNING|BACKOFF) .*$`)
	require.Equal(t, alive.ReplaceAllString(deb, "${1}ALIVE"), alive.ReplaceAllString(supNormalise(string(ownOut), sides[1].dir), "${1}ALIVE"))
	require.Equal(t, debCode, own.ProcessState.ExitCode())

	// unexpected restarts forever: where in its cycle each side is when a
	// command comes is chance, so it is stopped first, not compared.
	for _, s := range sides {
		s.ctl("stop", "unexpected")
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			out, _ := s.ctl("status", "unexpected")
			assert.Contains(c, out, "STOPPED")
		}, 20*time.Second, 100*time.Millisecond, s.name)
	}

	// supervisorctl's answers, side by side.
	for _, args := range [][]string{
		{"stop", "sleeper"}, {"status", "sleeper"}, {"stop", "sleeper"}, {"start", "sleeper"},
		{"start", "sleeper"}, {"restart", "sleeper"}, {"pid", "sleeper"}, {"stop", "nosuch"},
		{"status", "nosuch"}, {"status", "web:*"}, {"stop", "web:*"}, {"start", "web:*"},
		{"start", "pair:manual"}, {"stop", "pair:catcher"}, {"status", "pair:*"},
		{"stop", "all"}, {"status"}, {"start", "web:*"}, {"start", "pair:*"},
	} {
		var got []string
		for _, s := range sides {
			out, code := s.ctl(args...)
			if args[0] != "status" && args[0] != "pid" {
				// the answers for several processes come in the order their
				// calls finished, on both sides: chance under load
				l := strings.Split(strings.TrimSpace(out), "\n")
				sort.Strings(l)
				out = strings.Join(l, "\n")
			}
			got = append(got, out+"exit "+strconv.Itoa(code))
		}
		require.Equal(t, got[0], got[1], "supervisorctl %v", args)
	}
	// "start quick" on a FATAL program: the failed starts counted so far
	// are forgotten, it is tried startretries+1 times again (3 more), FATAL.
	var starts []string
	for _, s := range sides {
		out, code := s.ctl("start", "quick")
		starts = append(starts, out+"exit "+strconv.Itoa(code))
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			out, _ := s.ctl("status", "quick")
			assert.Contains(c, out, "FATAL")
			assert.Equal(c, 6, supLines(filepath.Join(s.dir, "quick.count")))
		}, 30*time.Second, 100*time.Millisecond, s.name)
	}
	require.Equal(t, starts[0], starts[1])

	// The stop signal: stopsignal=INT reached the catcher on both sides.
	for _, s := range sides {
		b, _ := os.ReadFile(filepath.Join(s.dir, "catcher.sig"))
		require.Equal(t, "INT\n", string(b), s.name)
	}
}

func TestSupervisordWarningsAndErrors(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[program:x]\ncommand = /bin/sleep 1\nbogus = 1\n[eventlistener:e]\ncommand = x\n[inet_http_server]\nport=:9001\n[program:y]\ncommand = 'unterminated\n"), 0o644))
	out, err := exec.Command(svinit, "--supervisord", conf, "--svinit-dir", filepath.Join(dir, "tree")).CombinedOutput()
	require.Error(t, err)
	require.Equal(t, 2, err.(*exec.ExitError).ExitCode())
	require.Contains(t, string(out), conf+":9: command: no closing quotation")
	require.NoError(t, os.WriteFile(conf, []byte("[program:x]\ncommand = /bin/sleep 1\nbogus = 1\n[eventlistener:e]\ncommand = x\n[inet_http_server]\nport=:9001\n"), 0o644))
	cmd := exec.Command(svinit, "supervisord", "-c", conf, "--svinit-dir", filepath.Join(dir, "tree"))
	r, w, _ := os.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	require.NoError(t, cmd.Start())
	w.Close()
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	var seen strings.Builder
	buf := make([]byte, 4096)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_ = r.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, _ := r.Read(buf)
		seen.Write(buf[:n])
		assert.Contains(c, seen.String(), conf+`:3: [program:x] has no key "bogus"`)
		assert.Contains(c, seen.String(), conf+":4: [eventlistener:e] is not supported")
		assert.Contains(c, seen.String(), conf+":6: [inet_http_server] is not supported")
	}, 10*time.Second, 20*time.Millisecond)
}

// priorityConf: priority orders the stop (supervisord stops one group after
// another in reverse priority order, then name, each waiting for the one
// before; the processes of one group together).
const priorityConf = `[unix_http_server]
file = %(here)s/s.sock

[supervisorctl]
serverurl = unix://%(here)s/s.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisord]
logfile = %(here)s/supervisord.log
pidfile = %(here)s/supervisord.pid

[program:first]
command = %(here)s/trap first
priority = 10

[program:middle]
command = %(here)s/trap middle
priority = 20

[program:last]
command = %(here)s/trap last
priority = 30

[program:plain_a]
command = %(here)s/trap plain_a

[program:plain_b]
command = %(here)s/trap plain_b

[program:grouped]
command = %(here)s/trap grouped_%(process_num)d
process_name = %(program_name)s_%(process_num)d
numprocs = 2
priority = 15
`

// The same stop order under Debian's supervisord and svinit: plain_b,
// plain_a (priority 999, reverse name order), last, middle, the two
// grouped ones together, first — each after the one before has exited.
func TestSupervisordPriorityOrder(t *testing.T) {
	var orders []string
	for _, name := range []string{"supervisord", "svinit"} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "trap"), []byte("#!/bin/sh\n"+
			"trap 'echo \"TERM $1\" >> "+dir+"/order; sleep 0.3; echo \"exit $1\" >> "+dir+"/order; exit 0' TERM\n"+
			"while :; do sleep 0.05; done\n"), 0o755))
		conf := filepath.Join(dir, "supervisord.conf")
		require.NoError(t, os.WriteFile(conf, []byte(priorityConf), 0o644))
		cmd := exec.Command("supervisord", "-n", "-c", conf)
		if name == "svinit" {
			cmd = exec.Command(svinit, "--supervisord", conf, "--svinit-dir", filepath.Join(dir, "tree"))
		}
		cmd.Dir = dir
		require.NoError(t, cmd.Start())
		s := &supSide{name: name, dir: dir, cmd: cmd}
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			out, _ := s.ctl("status")
			assert.Equal(c, 7, strings.Count(out, "RUNNING"), out)
		}, 30*time.Second, 100*time.Millisecond, name)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%s did not stop in 30 s", name)
		}
		b, err := os.ReadFile(filepath.Join(dir, "order"))
		require.NoError(t, err, name)
		ls := strings.Split(strings.TrimSpace(string(b)), "\n")
		// the two grouped processes stop together: their order is chance
		for i := 0; i+1 < len(ls); i++ {
			if strings.Contains(ls[i], "grouped") && strings.Contains(ls[i+1], "grouped") && ls[i] > ls[i+1] &&
				strings.Fields(ls[i])[0] == strings.Fields(ls[i+1])[0] {
				ls[i], ls[i+1] = ls[i+1], ls[i]
			}
		}
		orders = append(orders, strings.Join(ls, "\n"))
	}
	require.Equal(t, strings.Join([]string{
		"TERM plain_b", "exit plain_b", "TERM plain_a", "exit plain_a",
		"TERM last", "exit last", "TERM middle", "exit middle",
		"TERM grouped_0", "TERM grouped_1", "exit grouped_0", "exit grouped_1",
		"TERM first", "exit first"}, "\n"), orders[0], "Debian's supervisord")
	require.Equal(t, orders[0], orders[1])
}
