package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/svinit/svinit/internal/chain"

	"github.com/svinit/svinit/internal/poller"

	"github.com/svinit/svinit/internal/errstr"

	"github.com/svinit/svinit/internal/logmux"
	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// backoffTimer is the wait before the next start after quick failures.
type backoffTimer struct {
	until    time.Time // end of the current backoff
	timer    *loopTimer
	timerGen int // a timer that fires for an older generation is ignored
}

// Options configure a Supervisor.
type Options struct {
	Rescan time.Duration // safety-net check of the tree where inotify cannot be relied on (watch.go); 0: never
	Grace  time.Duration // TERM → KILL for a service whose directory was removed
	Logs   *logmux.Mux   // the services' output, prefixed; nil: svinit's own fds
	// Protocol is the tree's on-disk protocol: "daemontools" (runit's too;
	// the default) or "s6" (s6 2.11's, s6.go); empty: $SVINIT_PROTOCOL.
	Protocol string
}

// NoticeKind is what the supervisor tells its owner, PID 1.
type NoticeKind int

const (
	NoticeReadiness NoticeKind = iota // readiness changed: the main command may start
	NoticeStop                        // svscanctl -t: the container is asked to stop
	NoticeEssential                   // an essential service gave up (Name, Code)
	NoticeStopped                     // after Shutdown: every service has exited
)

// Notice is one message to the owner. Notices are queued and taken by the
// owner's loop (Notices) once the event that caused them is handled: the
// supervisor never calls out in the middle of a decision.
type Notice struct {
	Kind NoticeKind
	Name string // NoticeEssential: the service
	Code int    // NoticeEssential: its last exit code
}

// Supervisor supervises every service directory in one tree. All its
// methods run on the event loop; its goroutines (inotify, the epoll waiter,
// timers) only post closures to Events.
type Supervisor struct {
	root        string
	opts        Options
	reaper      *reaper.Reaper
	events      chan func()
	services    map[string]*service // main services by name
	byProc      map[*reaper.Proc]*service
	devnull     *os.File
	warned      map[string]string     // scan problems already reported, by name
	released    map[string]time.Time  // when a service stopped being supervised
	stopping    bool                  // Shutdown was called
	stoppedSent bool                  // NoticeStopped is out
	mainHolds   bool                  // shutdown: PID 1's main command still runs
	users       map[string][]*service // shutdown: who depends on each service
	prioritized []*service            // shutdown: the services with a priority file
	notices     []Notice              // for the owner (Notices)
	queue       []queued              // events for other services, caused while dispatching
	inLoop      bool                  // dispatch is running: new events wait in queue
	dirty       []*service            // to announce once the dispatch is over
	isDirty     map[*service]bool
	waiting     map[*service]bool // main services in phaseWait (readinessChanged)
	nofile      uint64            // RLIMIT_NOFILE's soft limit at the last scan (limits.go); 0: unknown
	loggers     int               // services in s.services with a logger (roomFor)
	scanner     *scanner
	scanCtl     *os.File
	poller      *poller.Poller
	timers      timers // the probes' timers (timers.go)
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
		isDirty:  map[*service]bool{},
		waiting:  map[*service]bool{},
	}
}

// watchFd registers fd with the poller: onReady runs on the loop when fd is
// readable, if the registration is still the same then; it must Rearm or
// Remove it.
func (s *Supervisor) watchFd(fd int, onReady func()) (poller.Token, error) {
	return s.watchFdFor(fd, poller.In, onReady)
}

// watchFdFor is watchFd for the readiness in events (poller.In, poller.Out);
// it must RearmFor or Remove it.
func (s *Supervisor) watchFdFor(fd int, events uint32, onReady func()) (poller.Token, error) {
	return s.poller.AddFor(fd, events, func(tok poller.Token) {
		s.post(func() {
			if s.poller.Live(tok) {
				onReady()
			}
		})
	})
}

// Events carries work for the loop: run each function received, in order.
func (s *Supervisor) Events() <-chan func() { return s.events }

func (s *Supervisor) post(f func()) { s.events <- f }

// Start scans the tree, starts what is wanted up and watches for changes.
func (s *Supervisor) Start() {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		svlog.Warn("unable to open %s: %s: services get a closed stdin", os.DevNull, errstr.Text(err))
	}
	s.devnull = devnull
	if p, err := poller.New(); err == nil {
		s.poller = p
	} else {
		svlog.Warn("epoll: %s: services run, but svc and sv cannot control them", errstr.Text(err))
	}
	s.checkProtocol()
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
	case v.healthProbe != nil && e.Proc == v.healthProbe.proc:
		s.healthExited(v, e)
	case e.Proc == v.ctlProc:
		s.customDone(v, e)
	case e.Proc != v.proc:
		// a helper that was replaced before its exit came (a probe killed
		// at its timeout): not ./run, not ./finish — nothing to decide
	case v.st.phase == phaseFinish:
		v.proc = nil
		s.dispatch(v, event{kind: evFinishDone, code: e.Code()})
	default:
		v.proc = nil
		s.runDied(v, e)
	}
	return true
}

// runDied records how ./run ended and feeds the life cycle.
func (s *Supervisor) runDied(v *service, e reaper.Exit) {
	s.closeNotify(v)
	s.stopHealth(v)
	v.ready = false
	v.lastExit, v.lastCode = reaper.Describe(e.Status), e.Code()
	lived := time.Since(v.started)
	svlog.Info("%s: ./run exited after %.1fs: %s", v.name, lived.Seconds(), v.lastExit)
	v.finishArgs = finishArgs(e.Status)
	if v.s6 != nil {
		v.finishArgs = s6FinishArgs(e.Status, v.name)
	}
	s.s6Died(v, e.Status)
	s.dispatch(v, event{kind: evRunDied, lived: lived, code: v.lastCode})
}

// finishArgs are runit's arguments to ./finish: the exit code (-1 if killed)
// and the signal number (0 if it exited).
func finishArgs(ws unix.WaitStatus) []string {
	if ws.Signaled() {
		return []string{"-1", strconv.Itoa(int(ws.Signal()))}
	}
	return []string{strconv.Itoa(ws.ExitStatus()), "0"}
}

// queued is an event waiting for its turn, with the control command whose
// signal a control script stood in for (custom.go).
type queued struct {
	v       *service
	ev      event
	handled byte
}

// dispatch runs the life cycle for one event, and the events its actions
// cause. An event for another service caused meanwhile (a release frees a
// dependency, a readiness starts a dependent) waits in the queue until this
// one is done: dispatch never runs inside itself. The new states are
// announced once the queue is empty, after every signal has gone out.
func (s *Supervisor) dispatch(v *service, ev event) { s.dispatchAll(queued{v: v, ev: ev}) }

func (s *Supervisor) dispatchAll(qs ...queued) {
	s.queue = append(s.queue, qs...)
	if s.inLoop {
		return
	}
	s.inLoop = true
	for len(s.queue) > 0 {
		q := s.queue[0]
		s.queue = s.queue[1:]
		s.step(q)
	}
	s.inLoop = false
	s.queue = nil
	dirty := s.dirty
	s.dirty = nil
	for _, v := range dirty {
		delete(s.isDirty, v)
		if !v.released {
			s.announce(v)
		}
	}
}

// step is one event for one service, and the events its actions cause at
// once for the same service.
func (s *Supervisor) step(q queued) {
	v := q.v
	if v.released {
		return
	}
	before := v.st.phase
	v.handled = q.handled
	local := []event{q.ev}
	for len(local) > 0 {
		ev := local[0]
		local = local[1:]
		if ev.kind == evShutdown {
			ev.held = s.held(v) // a fact of the moment it is handled
		}
		var acts []action
		from := v.st
		v.st, acts = next(v.st, ev)
		v.s6Observe(from, ev)
		if svlog.Tracing() {
			did := actionsString(acts)
			if did == "" {
				did = "-"
			}
			svlog.Trace("%s: %s: %s -> %s: %s", v.name, ev, from, v.st, did)
		}
		for _, a := range acts {
			if follow, ok := s.do(v, a); ok {
				local = append(local, follow)
			}
		}
	}
	v.handled = 0
	if v.st.phase == phaseWait && !v.released && v.parent == nil {
		s.waiting[v] = true // readinessChanged looks at these only
	} else {
		delete(s.waiting, v)
	}
	if v.released {
		return
	}
	if before != v.st.phase && (v.st.phase == phaseDown || v.st.phase == phaseBackoff) {
		v.when = time.Now()
	}
	if !s.isDirty[v] {
		s.isDirty[v] = true
		s.dirty = append(s.dirty, v)
	}
}

func (s *Supervisor) notify(n Notice) { s.notices = append(s.notices, n) }

// Notices takes what the supervisor has to tell its owner since the last
// call (the owner's loop asks after each event).
func (s *Supervisor) Notices() []Notice {
	n := s.notices
	s.notices = nil
	return n
}

// do carries out one action; some cause an event at once.
func (s *Supervisor) do(v *service, a action) (event, bool) {
	switch a.kind {
	case actStartRun:
		return s.startRun(v)
	case actStartFinish:
		return s.startFinish(v)
	case actSignal:
		if !v.suppressed(a) {
			// the CONT after a down-signal goes where the down-signal went
			s.signal(v, a.sig, a.sig == unix.SIGCONT && v.st.downSent && v.cfg.downGroup)
		}
	case actDownSignal:
		if !v.suppressed(a) {
			s.signal(v, v.cfg.downSignal, v.cfg.downGroup)
			s.killAfter(v, v.cfg.timeoutKill, "timeout-kill")
		}
	case actBackoff:
		s.armBackoff(v)
	case actCancelTimer:
		v.timerGen++
		s.cancel(v.timer)
	case actRelease:
		s.release(v)
	case actGiveUp:
		v.lastErr = fmt.Sprintf("gave up after %d failures in a row (max-restarts %d)", v.st.failsInRow, v.st.policy.maxRestarts)
		if n := v.st.policy.startTries; n > 0 && v.st.fails >= n {
			v.lastErr = fmt.Sprintf("gave up after %d failed starts in a row (start-retries %d)", v.st.fails, n-1)
		}
		switch p := v.st.policy; {
		case p.kind == oneshot && p.restart == restartNever:
			v.lastErr = "gave up: the oneshot failed (" + v.lastExit + ") and restart is never"
		case p.kind == oneshot && p.maxRestarts == 0:
			v.lastErr = "gave up: the oneshot failed (" + v.lastExit + ") and is essential"
		}
		svlog.Warn("%s: %s", v.name, v.lastErr)
		s.readinessChanged() // what waits for it waits for good now (Pending)
	case actEssential:
		s.notify(Notice{Kind: NoticeEssential, Name: v.name, Code: v.lastCode})
	case actUndo:
		return s.startScript(v, "undo", nil)
	case actUnhealthy:
		s.unhealthy(v)
	case actSkip:
		svlog.Info("%s: scheduled run skipped: the last one (started %s) still runs", v.name, v.started.Format(time.RFC3339))
	case actDone:
		v.everReady = true
		svlog.Info("%s: done", v.name)
		s.readinessChanged()
	}
	return event{}, false
}

// signal sends sig to the process v runs now (its process group with
// group) through the reaper, which refuses a pid it has already reaped.
func (s *Supervisor) signal(v *service, sig unix.Signal, group bool) {
	if v.proc == nil {
		return
	}
	if err := s.reaper.Signal(v.proc, sig, group); err != nil && !errors.Is(err, unix.ESRCH) {
		svlog.Warn("%s: unable to send %s to %d: %s", v.name, unix.SignalName(sig), v.proc.Pid, errstr.Text(err))
	}
}

// killAfter KILLs the process v runs now if it still runs after d.
func (s *Supervisor) killAfter(v *service, d time.Duration, why string) {
	if d <= 0 || v.proc == nil {
		return
	}
	p := v.proc
	s.after(d, func() {
		if v.proc == p {
			svlog.Warn("%s: still running after %s %v: killed", v.name, why, d)
			s.signal(v, unix.SIGKILL, v.cfg.downGroup)
		}
	})
}

// readConfig reads the service's optional files again (before each start,
// and when it is first seen); each bad one is reported once.
func (s *Supervisor) readConfig(v *service) {
	cfg, errs := readConfig(v.dir)
	for _, err := range errs {
		s.warnOnce(v.name+"/config", err.Error())
	}
	v.cfg = cfg
	v.st.policy = cfg.policy()
	v.st.policy.finish125 = v.s6 != nil
}

func (s *Supervisor) startRun(v *service) (event, bool) {
	s.readConfig(v)
	cfg := v.cfg
	if why := s.blockedBy(v); why != "" {
		v.waiting = why
		return event{kind: evBlocked}, true
	}
	v.waiting = ""
	run := filepath.Join(v.dir, "run")
	argv := []string{"./run"}
	if v.s6 != nil {
		argv = append(argv, v.name) // s6-supervise's ./run gets the service's name
	}
	err := s.readEnv(v)
	spec := s.spec(v, run, argv)
	if err == nil {
		err = checkRunnable(run)
	}
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
	v.s6Started()
	s.startReadiness(v)
	s.startHealth(v)
	return event{}, false
}

// startFailed records why ./run could not start; the life cycle counts it
// as a quick failure.
func (s *Supervisor) startFailed(v *service, err error) (event, bool) {
	s.closeNotify(v)
	v.lastErr = err.Error()
	v.lastCode = 126
	if se, ok := err.(*reaper.StartError); ok {
		v.lastCode = se.Code()
	}
	svlog.Warn("%s", v.lastErr)
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
	return s.startScript(v, "finish", v.finishArgs)
}

// startScript starts ./finish (after ./run) or ./undo (a oneshot's, at the
// shutdown) if there is one, with timeout-finish; without one, or if it
// cannot start, it is done at once.
func (s *Supervisor) startScript(v *service, name string, args []string) (event, bool) {
	path := filepath.Join(v.dir, name)
	if _, err := os.Stat(path); err != nil {
		return event{kind: evFinishDone}, true
	}
	err := checkRunnable(path)
	var p *reaper.Proc
	if err == nil {
		p, err = s.reaper.Start(s.spec(v, path, append([]string{"./" + name}, args...)))
	}
	if err != nil {
		svlog.Warn("%v", err)
		return event{kind: evFinishDone}, true
	}
	v.proc = p
	s.byProc[p] = v
	s.killAfter(v, v.cfg.timeoutFinish, "timeout-"+name)
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
	return reaper.Spec{Path: path, Argv: argv, Dir: v.dir, Env: v.env, Files: []uintptr{stdin, stdout, stderr}, Setsid: true}
}

// readEnv reads the service's optional env/ directory (envdir's format: a
// file a variable, its first line the value, an empty file removes it)
// before each start of ./run; its scripts (./run, ./finish, ./check,
// probes) get svinit's environment with those changes. A file that cannot
// be read fails the start, naming it: never a half environment.
func (s *Supervisor) readEnv(v *service) error {
	v.env = nil
	dir := filepath.Join(v.dir, "env")
	if !v.cfg.has("env") { // the config was read just now (startRun)
		return nil
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	changes, err := chain.ReadEnvdir(dir, nil)
	if err != nil {
		return fmt.Errorf("not starting %s/run: %v", v.dir, err)
	}
	v.env = chain.ApplyEnv(os.Environ(), changes)
	return nil
}

func (s *Supervisor) armBackoff(v *service) {
	d := v.backoff()
	v.until = time.Now().Add(d)
	v.timerGen++
	gen := v.timerGen
	v.timer = s.after(d, func() {
		if gen == v.timerGen && !v.released {
			s.dispatch(v, event{kind: evBackoffOver})
		}
	})
	svlog.Info("%s: restarting in %v", v.name, d)
}

// announce writes the state to supervise/; the first time, it also opens
// supervise/ok so clients see a live supervisor.
func (s *Supervisor) announce(v *service) {
	if v.sup == nil {
		return
	}
	var err error
	if v.s6 != nil {
		err = v.sup.AnnounceS6(v.s6Status(), v.status(), v.st.exiting, v.info())
	} else {
		err = v.sup.Announce(v.status(), v.st.exiting, v.info())
	}
	if err != nil {
		if !v.st.exiting {
			svlog.Warn("%v", err)
		}
		return
	}
	if err := v.sup.Listen(); err != nil {
		svlog.Warn("%v", err)
	}
	s.s6Notify(v) // after the status: a listener woken by an event reads the new one
}

// Rescan reads the tree again now.
func (s *Supervisor) Rescan() { s.scan() }

// Deadline is the end of the stop deadline: from now on nothing starts,
// not even ./finish (PID 1 KILLs what is left).
func (s *Supervisor) Deadline() {
	var qs []queued
	for _, v := range s.sorted() {
		qs = append(qs, queued{v: v, ev: event{kind: evDeadline}})
	}
	s.dispatchAll(qs...)
}

// Done reports whether every service has exited and is released (after
// Shutdown).
func (s *Supervisor) Done() bool { return len(s.services) == 0 }

// Shutdown is the container stopping: every service is wanted down and
// nothing starts again. A service gets its down-signal once every service
// that depends on it has exited (its logger after it); independent ones at
// once. With mainRuns, PID 1's main command is still running and holds
// every service (it depends on them all) until MainExited. NoticeStopped
// follows when every service has exited.
func (s *Supervisor) Shutdown(mainRuns bool) {
	if s.stopping {
		return
	}
	s.stopping, s.mainHolds = true, mainRuns
	if s.scanner != nil {
		s.scanner.close()
	}
	if s.scanCtl != nil {
		s.scanCtl.Close()
	}
	s.users = map[string][]*service{}
	var qs []queued
	for _, v := range s.sorted() {
		for _, d := range v.cfg.depends {
			s.users[d] = append(s.users[d], v)
		}
		if v.cfg.hasPriority && v.parent == nil {
			s.prioritized = append(s.prioritized, v)
		}
		qs = append(qs, queued{v: v, ev: event{kind: evShutdown}})
	}
	s.dispatchAll(qs...)
	s.checkStopped()
}

// MainExited is PID 1's main command gone, after Shutdown(true): the
// services nothing else depends on get their down-signal now.
func (s *Supervisor) MainExited() {
	if !s.mainHolds {
		return
	}
	s.mainHolds = false
	var qs []queued
	for _, v := range s.sorted() {
		if v.st.stopping && v.st.held && !s.held(v) {
			qs = append(qs, queued{v: v, ev: event{kind: evUnheld}})
		}
	}
	s.dispatchAll(qs...)
}

// held: while the container stops, a service that depends on v (for a
// logger: the service it logs; for a main service: the main command while
// it runs) has not exited yet.
func (s *Supervisor) held(v *service) bool {
	if !s.stopping {
		return false
	}
	if v.parent != nil {
		return !v.parent.released
	}
	if s.mainHolds {
		return true
	}
	for _, w := range s.users[v.name] {
		if w != v && !w.released {
			return true
		}
	}
	if v.cfg.hasPriority { // priority: every service of a higher one stops first
		for _, w := range s.prioritized {
			if w.cfg.priority > v.cfg.priority && !w.released {
				return true
			}
		}
	}
	return false
}

// unhold tells v's dependencies that v has exited, while the container
// stops: each one no other dependent holds gets its down-signal.
func (s *Supervisor) unhold(v *service) {
	if !s.stopping {
		return
	}
	for _, d := range v.cfg.depends {
		if dv := s.services[d]; dv != nil && dv.st.stopping && dv.st.held && !s.held(dv) {
			s.dispatch(dv, event{kind: evUnheld})
		}
	}
	if v.cfg.hasPriority {
		for _, w := range s.prioritized {
			if w.cfg.priority < v.cfg.priority && !w.released && w.st.stopping && w.st.held && !s.held(w) {
				s.dispatch(w, event{kind: evUnheld})
			}
		}
	}
}

// checkStopped tells the owner once every service has exited.
func (s *Supervisor) checkStopped() {
	if s.stopping && len(s.services) == 0 && !s.stoppedSent {
		s.stoppedSent = true
		s.notify(Notice{Kind: NoticeStopped})
	}
}
