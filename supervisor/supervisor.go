package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/svinit/svinit/internal/logmux"
	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

const (
	// quickExit is how long ./run must live for a restart at once.
	quickExit = time.Second
	// steadyRun is how long ./run must live for its failures to be forgiven.
	steadyRun = 10 * time.Second
)

// Options configure a Supervisor.
type Options struct {
	Rescan      time.Duration               // safety-net check of the tree where inotify cannot be relied on (watch.go); 0: never
	Grace       time.Duration               // TERM → KILL for a service whose directory was removed
	OnShutdown  func()                      // svscanctl -t asked for the whole tree to stop
	OnReadiness func()                      // a service became ready
	OnEssential func(name string, code int) // an essential service gave up
	Logs        *logmux.Mux                 // the services' output, prefixed; nil: svinit's own fds
}

// Supervisor supervises every service directory in one tree. All its
// methods run on the event loop; its goroutines (inotify, the epoll waiter,
// timers) only post closures to Events.
type Supervisor struct {
	root     string
	opts     Options
	reaper   *reaper.Reaper
	events   chan func()
	services map[string]*service // main services by name
	byProc   map[*reaper.Proc]*service
	devnull  *os.File
	warned   map[string]string    // scan problems already reported, by name
	released map[string]time.Time // when a service stopped being supervised
	stopping bool
	noStarts bool                  // the deadline is over: start nothing, not even ./finish
	toStop   map[*service]bool     // shutdown: services not told to stop yet
	batch    map[*service]bool     // services to announce once a batch of signals is sent
	users    map[string][]*service // shutdown: who depends on each service
	scanner  *scanner
	scanCtl  *os.File
	poller   *poller
}

// New makes a Supervisor for the tree at root; Start begins the work.
func New(root string, r *reaper.Reaper, opts Options) *Supervisor {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return &Supervisor{
		root: root, opts: opts, reaper: r,
		events:   make(chan func(), 4096),
		services: map[string]*service{},
		byProc:   map[*reaper.Proc]*service{},
		warned:   map[string]string{},
		released: map[string]time.Time{},
	}
}

// Events carries work for the loop: run each function received, in order.
func (s *Supervisor) Events() <-chan func() { return s.events }

func (s *Supervisor) post(f func()) { s.events <- f }

// Start scans the tree, starts what is wanted up and watches for changes.
func (s *Supervisor) Start() {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		svlog.Warn("unable to open %s: %v: services get a closed stdin", os.DevNull, err)
	}
	s.devnull = devnull
	if p, err := newPoller(func(tok uint32) { s.post(func() { s.poller.fire(tok) }) }); err == nil {
		s.poller = p
	} else {
		svlog.Warn("epoll: %v: services run, but svc and sv cannot control them", err)
	}
	s.scanner = startScanner(s)
	s.openScanControl()
	s.scan()
}

// OnExit takes the exit of a process it started and reports whether it was
// one of its own.
func (s *Supervisor) OnExit(e reaper.Exit) bool {
	v := s.byProc[e.Proc]
	if v == nil {
		return false
	}
	delete(s.byProc, e.Proc)
	switch {
	case e.Proc == v.checkProc:
		s.checkDone(v, e)
	case e.Proc == v.ctlProc:
		s.customDone(v, e)
	case v.st.phase == phaseFinish:
		v.proc = nil
		s.dispatch(v, event{kind: evFinishDone})
	default:
		v.proc = nil
		s.runDied(v, e)
	}
	return true
}

// runDied records how ./run ended, decides whether it gave up, and feeds
// the life cycle.
func (s *Supervisor) runDied(v *service, e reaper.Exit) {
	s.closeNotify(v)
	v.ready = false
	v.lastExit, v.lastCode = reaper.Describe(e.Status), e.Code()
	lived := time.Since(v.started)
	kind := v.countExit(lived)
	if max := v.cfg.maxRestarts; max > 0 && v.failsInRow > max && v.st.wantUp {
		v.st.wantUp, v.gaveUp = false, true
		v.lastErr = fmt.Sprintf("gave up after %d failures in a row (max-restarts %d)", v.failsInRow, max)
		svlog.Warn("%s: %s", v.name, v.lastErr)
	}
	svlog.Info("%s: ./run exited after %.1fs: %s", v.name, lived.Seconds(), v.lastExit)
	v.finishArgs = finishArgs(e.Status)
	s.dispatch(v, event{kind: kind})
}

// countExit counts an exit of ./run after it lived so long: the quick
// failures that set the backoff, the failures in a row for max-restarts,
// the restarts svinit did not ask for. It says which event the exit is.
func (v *service) countExit(lived time.Duration) eventKind {
	requested := v.st.gotTerm || !v.st.wantUp
	kind := evRunDied
	if lived < quickExit {
		kind = evRunDiedQuick
		v.fails++
	} else {
		v.fails = 0
	}
	if lived >= steadyRun {
		v.failsInRow = 0
	}
	if !requested {
		v.restarts++
		if v.lastCode != 0 {
			v.failsInRow++
		}
	}
	v.gaveUp = requested
	return kind
}

// finishArgs are runit's arguments to ./finish: the exit code (-1 if killed)
// and the signal number (0 if it exited).
func finishArgs(ws unix.WaitStatus) []string {
	if ws.Signaled() {
		return []string{"-1", strconv.Itoa(int(ws.Signal()))}
	}
	return []string{strconv.Itoa(ws.ExitStatus()), "0"}
}

// dispatch runs the life cycle for one event, and the events its actions
// cause, then announces the new state.
func (s *Supervisor) dispatch(v *service, ev event) {
	before := v.st.phase
	queue := []event{ev}
	for len(queue) > 0 {
		var acts []action
		v.st, acts = next(v.st, queue[0])
		queue = queue[1:]
		for _, a := range acts {
			if follow, ok := s.do(v, a); ok {
				queue = append(queue, follow)
			}
		}
	}
	if v.released {
		return
	}
	if before != v.st.phase && (v.st.phase == phaseDown || v.st.phase == phaseBackoff) {
		v.when = time.Now()
	}
	if s.batch != nil {
		s.batch[v] = true
	} else {
		s.announce(v)
	}
	s.essentialCheck(v)
}

// essentialCheck stops the container when an essential service gave up:
// it ended while wanted down, or reached max-restarts.
func (s *Supervisor) essentialCheck(v *service) {
	if !v.cfg.essential || !v.gaveUp || v.fired || s.stopping || v.st.phase != phaseDown {
		return
	}
	v.fired = true
	if s.opts.OnEssential != nil {
		s.opts.OnEssential(v.name, v.lastCode)
	}
}

// do carries out one action; some cause an event at once.
func (s *Supervisor) do(v *service, a action) (event, bool) {
	switch a.kind {
	case actStartRun:
		return s.startRun(v)
	case actStartFinish:
		return s.startFinish(v)
	case actSignal:
		if v.proc != nil && !v.suppressed(a) {
			_ = unix.Kill(v.proc.Pid, a.sig)
		}
	case actDownSignal:
		if v.proc != nil && !v.suppressed(a) {
			_ = unix.Kill(v.proc.Pid, v.cfg.downSignal)
			s.killAfter(v, v.cfg.timeoutKill, "timeout-kill")
		}
	case actBackoff:
		s.armBackoff(v)
	case actCancelTimer:
		v.timerGen++
		if v.timer != nil {
			v.timer.Stop()
		}
	case actRelease:
		s.release(v)
	}
	return event{}, false
}

// killAfter KILLs the process v runs now if it still runs after d.
func (s *Supervisor) killAfter(v *service, d time.Duration, why string) {
	if d <= 0 || v.proc == nil {
		return
	}
	p := v.proc
	time.AfterFunc(d, func() {
		s.post(func() {
			if v.proc == p {
				svlog.Warn("%s: still running after %s %v: killed", v.name, why, d)
				_ = unix.Kill(p.Pid, unix.SIGKILL)
			}
		})
	})
}

func (s *Supervisor) startRun(v *service) (event, bool) {
	if s.noStarts {
		return event{kind: evStartFailed}, true
	}
	cfg, errs := readConfig(v.dir)
	for _, err := range errs {
		s.warnOnce(v.name+"/config", err.Error())
	}
	v.cfg = cfg
	if why := s.blockedBy(v); why != "" {
		v.waiting = why
		return event{kind: evBlocked}, true
	}
	v.waiting = ""
	run := filepath.Join(v.dir, "run")
	spec := s.spec(v, run, []string{"./run"})
	err := checkRunnable(run)
	var notifyW *os.File
	if err == nil && cfg.notifyFd >= 0 {
		if notifyW, err = s.notifyPipe(v); err == nil {
			spec.Files = withFd(spec.Files, cfg.notifyFd, notifyW.Fd())
		}
	}
	var p *reaper.Proc
	if err == nil {
		p, err = s.reaper.Start(spec)
	}
	if notifyW != nil {
		notifyW.Close()
	}
	if err != nil {
		return s.startFailed(v, err)
	}
	v.lastErr = ""
	v.proc = p
	s.byProc[p] = v
	v.started = time.Now()
	v.when = v.started
	s.startReadiness(v)
	return event{}, false
}

// startFailed records why ./run could not start; it counts as a failure.
func (s *Supervisor) startFailed(v *service, err error) (event, bool) {
	s.closeNotify(v)
	v.lastErr = err.Error()
	v.lastCode = 126
	if se, ok := err.(*reaper.StartError); ok {
		v.lastCode = se.Code()
	}
	v.fails++
	v.failsInRow++
	svlog.Warn("%s", v.lastErr)
	if max := v.cfg.maxRestarts; max > 0 && v.failsInRow > max && v.st.wantUp {
		v.st.wantUp, v.gaveUp = false, true
		svlog.Warn("%s: gave up after %d failures in a row (max-restarts %d)", v.name, v.failsInRow, max)
	}
	return event{kind: evStartFailed}, true
}

// withFd gives the child fd n too, closing the fds between 2 and n.
func withFd(files []uintptr, n int, fd uintptr) []uintptr {
	for len(files) <= n {
		files = append(files, ^uintptr(0))
	}
	files[n] = fd
	return files
}

func (s *Supervisor) startFinish(v *service) (event, bool) {
	finish := filepath.Join(v.dir, "finish")
	if _, err := os.Stat(finish); err != nil || s.noStarts {
		return event{kind: evFinishDone}, true
	}
	err := checkRunnable(finish)
	var p *reaper.Proc
	if err == nil {
		p, err = s.reaper.Start(s.spec(v, finish, append([]string{"./finish"}, v.finishArgs...)))
	}
	if err != nil {
		svlog.Warn("%v", err)
		return event{kind: evFinishDone}, true
	}
	v.proc = p
	s.byProc[p] = v
	s.killAfter(v, v.cfg.timeoutFinish, "timeout-finish")
	return event{}, false
}

// spec is how a service's script starts: cwd the service directory, a
// session of its own, stdin /dev/null (a logger: the pipe), stdout and
// stderr svinit's, with the service's name in front of each line (stdout
// of a service with a logger: the pipe to it).
func (s *Supervisor) spec(v *service, path string, argv []string) reaper.Spec {
	stdin, stdout, stderr := uintptr(0), uintptr(1), uintptr(2)
	if s.devnull != nil {
		stdin = s.devnull.Fd()
	}
	if v.out != nil {
		stdout, stderr = v.out.W.Fd(), v.err.W.Fd()
	}
	if v.pipeIn != nil && v.parent != nil {
		stdin = v.pipeIn.Fd()
	}
	if v.log != nil && v.log.pipeOut != nil {
		stdout = v.log.pipeOut.Fd()
	}
	return reaper.Spec{Path: path, Argv: argv, Dir: v.dir, Files: []uintptr{stdin, stdout, stderr}, Setsid: true}
}

func (s *Supervisor) armBackoff(v *service) {
	d := v.backoff()
	v.until = time.Now().Add(d)
	v.timerGen++
	gen := v.timerGen
	v.timer = time.AfterFunc(d, func() {
		s.post(func() {
			if gen == v.timerGen && !v.released {
				s.dispatch(v, event{kind: evBackoffOver})
			}
		})
	})
	svlog.Info("%s: restarting in %v", v.name, d)
}

// announce writes the state to supervise/; the first time, it also opens
// supervise/ok so clients see a live supervisor.
func (s *Supervisor) announce(v *service) {
	if v.sup == nil {
		return
	}
	if err := v.sup.Announce(v.status(), v.st.exiting, v.info()); err != nil {
		if !v.st.exiting {
			svlog.Warn("%v", err)
		}
		return
	}
	if err := v.sup.Listen(); err != nil {
		svlog.Warn("%v", err)
	}
}

// Rescan reads the tree again now.
func (s *Supervisor) Rescan() { s.scan() }

// StopStarting is for the end of the shutdown deadline: from now on nothing
// is started, not even ./finish.
func (s *Supervisor) StopStarting() { s.noStarts = true }

// Done reports whether every service is released (after Shutdown).
func (s *Supervisor) Done() bool { return len(s.services) == 0 && len(s.byProc) == 0 }

// Shutdown stops every service and stops supervising: in reverse dependency
// order (a service stops once nothing that depends on it runs), independent
// ones at once.
func (s *Supervisor) Shutdown() {
	if s.stopping {
		return
	}
	s.stopping = true
	if s.scanner != nil {
		s.scanner.close()
	}
	if s.scanCtl != nil {
		s.scanCtl.Close()
	}
	s.toStop, s.users = map[*service]bool{}, map[string][]*service{}
	for _, v := range s.services {
		s.toStop[v] = true
		for _, d := range v.cfg.depends {
			s.users[d] = append(s.users[d], v)
		}
	}
	s.stopFree()
}

// stopFree stops every service not yet stopped that no running service
// depends on; it runs again each time a service is released. Every stop
// signal goes out before any status file is written (each write is a new
// inode: writing between the signals would delay the last service's).
func (s *Supervisor) stopFree() {
	s.batch = map[*service]bool{}
	defer func() {
		batch := s.batch
		s.batch = nil
		for v := range batch {
			if !v.released {
				s.announce(v)
			}
		}
	}()
	for changed := true; changed; {
		changed = false
		for v := range s.toStop {
			if s.needed(v) {
				continue
			}
			delete(s.toStop, v)
			if !v.st.exiting && !v.released {
				s.dispatch(v, event{kind: evExit})
			}
			changed = true
		}
	}
}

// needed: some service that depends on v still runs.
func (s *Supervisor) needed(v *service) bool {
	for _, w := range s.users[v.name] {
		if w != v && !w.released && (w.proc != nil || !w.st.exiting) {
			return true
		}
	}
	return false
}

// Pids lists the processes of the services that run now.
func (s *Supervisor) Pids() []int {
	var pids []int
	for p := range s.byProc {
		pids = append(pids, p.Pid)
	}
	return pids
}
