package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/errstr"

	"github.com/svinit/svinit/supervisor/svdir"
)

// svPoll is how often sv looks again while it waits (runit: 420 ms).
const svPoll = 420 * time.Millisecond

// svRun is one run of runit's sv: its output buffer (flushed whole lines, as
// runit's buffer_1), the failure count, and the clock it started on.
type svRun struct {
	out   strings.Builder
	rc    int
	start time.Time
	acts  string
	name  string // the service as given on the command line
	dir   string // where it is
	st    [svdir.StatusSize]byte
}

func svUsage() int {
	fmt.Fprint(os.Stderr, "usage: sv [-v] [-w sec] command service ...\n\n")
	return 100
}

// runSv is runit's sv: control services and wait for them, report status.
// Exit code: the number of services that failed (at most 99); 100 on usage.
func runSv(args []string) int {
	wait, verbose := uint64(7), false
	if v, err := strconv.ParseUint(os.Getenv("SVWAIT"), 10, 64); err == nil {
		wait = v
	}
	opts, rest, bad := getopt(args, "w:vV")
	if bad != 0 {
		return svUsage()
	}
	for _, o := range opts {
		switch o.letter {
		case 'w':
			wait, _ = strconv.ParseUint(o.value, 10, 64)
			verbose = true
		case 'v':
			verbose = true
		case 'V':
			fmt.Fprintln(os.Stderr, "svinit sv")
			return svUsage()
		}
	}
	if len(rest) < 2 {
		return svUsage()
	}
	action, services := rest[0], rest[1:]
	acts, control, check, kill, ok := svAction(action, verbose)
	if !ok {
		return svUsage()
	}
	svdirRoot := os.Getenv("SVDIR")
	if svdirRoot == "" {
		svdirRoot = "/service/"
	}
	r := &svRun{start: time.Now(), acts: acts}
	pending := map[int]string{}
	for i, name := range services {
		dir, ok := r.enter(name, svdirRoot)
		if !ok {
			continue
		}
		if control == nil || control(r) != -1 {
			pending[i] = dir
		}
	}
	for check != nil && len(pending) > 0 {
		elapsed := time.Since(r.start)
		for i := range services {
			dir, ok := pending[i]
			if !ok {
				continue
			}
			r.name, r.dir = services[i], dir
			if check(r) != 0 {
				delete(pending, i)
			} else if elapsed.Seconds() > float64(wait) {
				r.timeout(kill)
				delete(pending, i)
			}
		}
		os.Stdout.WriteString(r.out.String())
		r.out.Reset()
		if len(pending) > 0 {
			time.Sleep(svPoll)
		}
	}
	os.Stdout.WriteString(r.out.String())
	return min(r.rc, 99)
}

// svAction maps an action word to the bytes sent, the control and wait
// steps, and whether a timeout ends in a kill (force-*).
func svAction(action string, verbose bool) (string, func(*svRun) int, func(*svRun) int, bool, bool) {
	ctl, chk := (*svRun).control, (*svRun).check
	var waitFor func(*svRun) int
	if verbose {
		waitFor = chk
	}
	switch {
	case action == "check":
		return "c", nil, chk, false, true
	case action == "shutdown":
		return "x", ctl, chk, false, true
	case action == "start":
		return "u", ctl, chk, false, true
	case action == "stop":
		return "d", ctl, chk, false, true
	case action == "restart":
		return "tcu", ctl, chk, false, true
	case action == "force-reload":
		return "tc", ctl, chk, true, true
	case action == "force-restart":
		return "tcu", ctl, chk, true, true
	case action == "force-shutdown":
		return "x", ctl, chk, true, true
	case action == "force-stop":
		return "d", ctl, chk, true, true
	case action == "":
		return "", nil, nil, false, false
	}
	switch action[0] {
	case 's':
		return "s", (*svRun).status, nil, false, true
	case 'x', 'e':
		return "x", ctl, waitFor, false, true
	case 'u', 'd', 'o', 't', 'p', 'c', 'h', 'a', 'i', 'k', 'q', '1', '2':
		return action[:1], ctl, waitFor, false, true
	}
	return "", nil, nil, false, false
}

// enter finds the service directory: a name not starting with / or . is
// looked up under SVDIR.
func (r *svRun) enter(name, root string) (string, bool) {
	r.name, r.dir = name, name
	if !strings.HasPrefix(name, "/") && !strings.HasPrefix(name, ".") {
		r.dir = filepath.Join(root, name)
	}
	if st, err := os.Stat(r.dir); err != nil || !st.IsDir() {
		r.fail("unable to change to service directory", errors.New(chdirErr(err)))
		return "", false
	}
	return r.dir, true
}

func (r *svRun) line(prefix, msg string, err error) {
	r.out.WriteString(prefix + r.name + ": " + msg)
	if err != nil {
		r.out.WriteString(": " + err.Error())
	}
	r.out.WriteString("\n")
	os.Stdout.WriteString(r.out.String())
	r.out.Reset()
}

func (r *svRun) fail(msg string, err error) { r.rc++; r.line("fail: ", msg, err) }
func (r *svRun) warn(msg string, err error) { r.rc++; r.line("warning: ", msg, err) }

// get reads the status: 1 read, 0 no supervisor, -1 trouble.
func (r *svRun) get() int {
	err := svdir.Alive(r.dir)
	if errors.Is(err, svdir.ErrNotRunning) {
		if r.acts == "x" {
			r.line("ok: ", "runsv not running", nil)
		} else {
			r.fail("runsv not running", nil)
		}
		return 0
	}
	if err != nil {
		r.warn("unable to open supervise/ok", errors.New(errstr.Text(err)))
		return -1
	}
	f, err := os.Open(filepath.Join(r.dir, "supervise/status"))
	if err != nil {
		r.warn("unable to open supervise/status", errors.New(errstr.Text(err)))
		return -1
	}
	defer f.Close()
	var buf [svdir.S6StatusSize]byte
	n, err := f.Read(buf[:])
	switch {
	case err != nil:
		r.warn("unable to read supervise/status", errors.New(errstr.Text(err)))
		return -1
	case n == svdir.S6StatusSize: // svinit in s6 mode: the same state in runit's terms
		s6, _ := svdir.DecodeS6(buf[:n])
		r.st = s6.Runit().Encode()
	case n != svdir.StatusSize:
		r.warn("unable to read supervise/status: bad format", nil)
		return -1
	default:
		copy(r.st[:], buf[:n])
	}
	return 1
}

func (r *svRun) decoded() svdir.Status {
	st, _ := svdir.Decode(r.st[:])
	return st
}

// print appends the status of the service (shown as m): 1 running, 2 down.
func (r *svRun) print(m, dir string) int {
	up, err := normallyUp(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: unable to stat %s/down: %s\n", r.name, errstr.Text(err))
		return 0
	}
	st := r.decoded()
	if st.Pid != 0 {
		switch st.State {
		case svdir.StateRun:
			r.out.WriteString("run: ")
		case svdir.StateFinish:
			r.out.WriteString("finish: ")
		}
		fmt.Fprintf(&r.out, "%s: (pid %d) ", m, st.Pid)
	} else {
		r.out.WriteString("down: " + m + ": ")
	}
	fmt.Fprintf(&r.out, "%ds", st.Age(time.Now()))
	r.out.WriteString(flags(st, up))
	if st.Pid != 0 && st.GotTerm {
		r.out.WriteString(", got TERM")
	}
	if st.Pid != 0 {
		return 1
	}
	return 2
}

func (r *svRun) status() int {
	if r.get() <= 0 {
		return 0
	}
	res := r.print(r.name, r.dir)
	logDir := filepath.Join(r.dir, "log")
	if st, err := os.Stat(logDir); err == nil && st.IsDir() {
		main := r.dir
		r.dir = logDir
		if r.get() != 0 {
			r.out.WriteString("; ")
			r.print("log", logDir)
		}
		r.dir = main
	} else if err != nil && !os.IsNotExist(err) {
		r.out.WriteString("; log: warning: unable to change to log service directory: " + errstr.Text(err))
	}
	r.out.WriteString("\n")
	return res
}

// control sends the action's bytes, unless the status already says so.
func (r *svRun) control() int {
	if r.get() <= 0 {
		return -1
	}
	if r.st[17] == r.acts[0] && (r.acts[0] != 'd' || r.st[18] == 1) {
		return 0
	}
	err := svdir.Control(r.dir, []byte(r.acts))
	if errors.Is(err, svdir.ErrNotRunning) {
		if r.acts == "x" {
			r.line("ok: ", "runsv not running", nil)
		} else {
			r.fail("runsv not running", nil)
		}
		return -1
	}
	if err != nil {
		r.warn("unable to open supervise/control", errors.New(errstr.Text(err)))
		return -1
	}
	return 1
}

// check reports whether what the action asked for holds (1), not yet (0), or
// cannot be known (-1); on success it prints "ok: " and the status.
func (r *svRun) check() int {
	res := r.get()
	if res == -1 {
		return -1
	}
	if res == 0 {
		if r.acts[0] == 'x' {
			return 1
		}
		return -1
	}
	st := r.decoded()
	for _, a := range r.acts {
		if !r.holds(byte(a), st) {
			return 0
		}
	}
	r.out.WriteString("ok: ")
	r.print(r.name, r.dir)
	r.out.WriteString("\n")
	return 1
}

func (r *svRun) holds(a byte, st svdir.Status) bool {
	switch a {
	case 'x':
		return false
	case 'u':
		return st.Pid != 0 && st.State == svdir.StateRun && r.ready()
	case 'd':
		return st.Pid == 0 && st.State == svdir.StateDown
	case 'c':
		return st.Pid == 0 || r.ready()
	case 't', 'k':
		if st.Pid == 0 && st.Want == 'd' {
			return true
		}
		return r.start.Unix() <= st.When.Unix() && st.Pid != 0 && !st.GotTerm && r.ready()
	case 'o':
		return !((st.Pid == 0 && r.start.Unix() > st.When.Unix()) || (st.Pid != 0 && st.Want != 'd'))
	case 'p':
		return st.Paused
	}
	return true
}

// ready is whether the service that runs is ready: under svinit, svinit's
// own answer (svdir.Ready: the notification-fd newline or ./check, which
// svinit runs itself); under runsv, ./check run here as runit's sv does.
func (r *svRun) ready() bool {
	if ready, known := svdir.Ready(r.dir); known {
		return ready
	}
	return r.checkScript()
}

// checkScript runs ./check as sv does: stdout closed, exit 0 means ready;
// no ./check, or one that cannot be run, passes.
func (r *svRun) checkScript() bool {
	path := filepath.Join(r.dir, "check")
	if _, err := os.Stat(path); err != nil {
		return os.IsNotExist(err)
	}
	cmd := exec.Command(path)
	cmd.Dir = r.dir
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	return err == nil || !errors.As(err, &ee)
}

// timeout reports a service that did not get there in time; force-* kill it.
func (r *svRun) timeout(kill bool) {
	if kill {
		r.out.WriteString("kill: ")
	} else {
		r.out.WriteString("timeout: ")
	}
	if r.get() > 0 {
		r.print(r.name, r.dir)
		r.rc++
	}
	r.out.WriteString("\n")
	if kill {
		r.acts = "k"
		r.control()
	}
}
