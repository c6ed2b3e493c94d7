package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/svinit/svinit/internal/poller"
	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// readiness is how the current ./run becomes ready (ready.go).
type readiness struct {
	ready     bool         // up and ready (notification-fd, ./check, or at once)
	notifyR   int          // read end of the notification-fd pipe (-1: none)
	notifyTok poller.Token // its registration with the poller
	checkProc *reaper.Proc // ./check while it runs
	waiting   string       // which dependency keeps it from starting
}

// checkEvery is how often ./check is run until it passes.
const checkEvery = 200 * time.Millisecond

// notifyPipe makes the readiness pipe of a service with notification-fd:
// the write end goes to the service at that fd, svinit reads the other.
// The read end stays a raw non-blocking fd: an *os.File's Fd() would make
// it blocking, and a read of a half line would then stall the loop.
func (s *Supervisor) notifyPipe(v *service) (w *os.File, err error) {
	if s.poller == nil {
		return nil, fmt.Errorf("notification-fd: no epoll")
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, err
	}
	tok, err := s.watchFd(fds[0], func() { s.notifyReady(v) })
	if err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, err
	}
	v.notifyR, v.notifyTok = fds[0], tok
	return os.NewFile(uintptr(fds[1]), "notification-fd"), nil
}

// notifyReady reads the readiness pipe: a newline means ready (s6's rule);
// the end of the pipe without one means the service will not say.
func (s *Supervisor) notifyReady(v *service) {
	if v.notifyR < 0 {
		return
	}
	fd := v.notifyR
	buf := make([]byte, 256)
	for {
		n, err := unix.Read(fd, buf)
		if n > 0 && bytes.IndexByte(buf[:n], '\n') >= 0 {
			s.closeNotify(v)
			s.setReady(v)
			return
		}
		if n == 0 && err == nil {
			s.closeNotify(v)
			return
		}
		if err != nil {
			break
		}
	}
	s.poller.Rearm(fd, v.notifyTok)
}

func (s *Supervisor) closeNotify(v *service) {
	if v.notifyR >= 0 {
		s.poller.Remove(v.notifyR, v.notifyTok)
		unix.Close(v.notifyR)
		v.notifyR = -1
	}
}

// startReadiness decides how the new ./run becomes ready: by its
// notification fd, by ./check passing, or at once.
func (s *Supervisor) startReadiness(v *service) {
	v.ready = false
	if v.notifyR >= 0 || v.st.policy.kind != longrun {
		return // a oneshot is ready once done; a scheduled job never waits
	}
	if (v.cfg.has("check") && exists(filepath.Join(v.dir, "check"))) || v.cfg.check.kind != probeNone {
		s.scheduleCheck(v, 0)
		return
	}
	v.ready, v.everReady = true, true // announced with the start itself
	s.readinessChanged()
}

// scheduleCheck runs ./check after d, if the same ./run is still up and not
// ready yet.
func (s *Supervisor) scheduleCheck(v *service, d time.Duration) {
	run := v.proc
	s.after(d, func() {
		if v.proc == run && v.st.phase == phaseUp && !v.ready && v.checkProc == nil && !v.st.stopping && !v.released {
			s.runCheck(v)
		}
	})
}

func (s *Supervisor) runCheck(v *service) {
	if _, err := os.Stat(filepath.Join(v.dir, "check")); err != nil && v.cfg.check.kind != probeNone {
		// check-tcp, check-http: no fork; the result comes back to the loop
		run := v.proc
		s.startNetProbe(v.cfg.check, time.Second, func(r probeResult) {
			if v.proc != run || v.st.phase != phaseUp || v.ready || v.released {
				return
			}
			if r.ok {
				s.setReady(v)
				return
			}
			s.scheduleCheck(v, checkEvery)
		})
		return
	}
	spec := s.spec(v, filepath.Join(v.dir, "check"), []string{"./check"})
	spec.Files[1] = spec.Files[0] // runit's sv runs it with stdout closed: /dev/null here
	p, err := s.reaper.Start(spec)
	if err != nil {
		s.warnOnce(v.name+"/check", err.Error())
		s.scheduleCheck(v, checkEvery)
		return
	}
	v.checkProc = p
	s.byProc[p] = v
}

// checkDone takes the exit of ./check: 0 is ready, anything else tries
// again.
func (s *Supervisor) checkDone(v *service, e reaper.Exit) {
	v.checkProc = nil
	if v.st.phase != phaseUp || v.ready {
		return
	}
	if e.Code() == 0 {
		s.setReady(v)
		return
	}
	s.scheduleCheck(v, checkEvery)
}

func (s *Supervisor) setReady(v *service) {
	if v.ready || v.st.phase != phaseUp {
		return
	}
	v.ready, v.everReady = true, true
	v.s6Ready()
	s.announce(v)
	s.readinessChanged()
}

// readinessChanged starts what waited for a dependency and tells the
// owner (the main command may be waiting).
//
// Only the services waiting for a dependency are looked at (s.waiting): a
// readiness change costs the same at 10 services as at 10,000.
func (s *Supervisor) readinessChanged() {
	var free []queued
	for w := range s.waiting {
		if w.st.phase != phaseWait {
			continue
		}
		if why := s.blockedBy(w); why != "" {
			w.waiting = why // what it waits for now, not what it waited for first
			continue
		}
		free = append(free, queued{v: w, ev: event{kind: evDepsReady}})
	}
	s.dispatchAll(free...)
	s.notify(Notice{Kind: NoticeReadiness})
}

// blockedBy says which dependency keeps v from starting, "" if none.
func (s *Supervisor) blockedBy(v *service) string {
	for _, name := range v.cfg.depends {
		d := s.services[name]
		switch {
		case d == nil:
			return "waiting for " + name + " (no such service)"
		case d.st.gaveUp && !d.st.wantUp:
			return "waiting for " + name + ", which gave up"
		case d.st.policy.kind == oneshot && !d.st.done:
			return "waiting for " + name + " to be done"
		case !d.isReady():
			return "waiting for " + name + " to be ready"
		}
	}
	return ""
}

// sorted lists the services by name, loggers after their service.
func (s *Supervisor) sorted() []*service {
	var out []*service
	for _, v := range s.services {
		out = append(out, v)
		if v.log != nil {
			out = append(out, v.log)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// NotReady lists the services wanted up that are not up and ready, each
// with why; empty means everything is ready.
func (s *Supervisor) NotReady() []string { return s.notReady(false) }

// Pending is NotReady less the services that wait for a dependency that
// gave up (or for one that waits so): nothing starts them until someone
// asks, as nothing starts the dependency — the main command does not wait
// for them, as it does not wait for the dependency (s6-rc starts the CMD
// when a oneshot failed, its dependents down).
func (s *Supervisor) Pending() []string { return s.notReady(true) }

func (s *Supervisor) notReady(settled bool) []string {
	var out []string
	for _, v := range s.sorted() {
		if !v.st.wantUp || v.isReady() || settled && s.stuck(v, map[*service]bool{}) {
			continue
		}
		why := v.st.phase.String()
		switch {
		case v.waiting != "":
			why = v.waiting
		case v.lastErr != "":
			why += ": " + v.lastErr
		case v.st.phase == phaseUp:
			why = "not ready yet"
		}
		out = append(out, v.name+" ("+why+")")
	}
	return out
}

// ServiceStat is one service as /metrics, /readyz and /livez see it.
type ServiceStat struct {
	Name           string
	Kind           string // longrun, oneshot, scheduled
	Up             bool
	Ready          bool // the one readiness truth (isReady)
	EverReady      bool // ready (a oneshot: done) at least once since svinit started
	WantUp         bool
	Restarts       int
	LastCode       int
	Health         string // "", starting, healthy, unhealthy
	HealthFailures int
	HealthOutput   string // what the last health probe said
	Essential      bool
	LastStart      time.Time // zero: never started
	NextRun        time.Time // scheduled: zero when none is armed
}

// Snapshot reports every service, by name.
func (s *Supervisor) Snapshot() []ServiceStat {
	var out []ServiceStat
	for _, v := range s.sorted() {
		out = append(out, ServiceStat{Name: v.name, Kind: v.st.policy.kind.String(), Up: v.st.phase == phaseUp,
			Ready: v.isReady(), EverReady: v.everReady, WantUp: v.st.wantUp, Restarts: v.st.restarts,
			LastCode: v.lastCode, Health: v.healthText(), HealthFailures: v.st.healthFails,
			HealthOutput: v.healthOut, Essential: v.cfg.essential, LastStart: v.started, NextRun: v.nextRun})
	}
	return out
}

// stuck: v waits for a dependency that gave up (not an essential one), or
// for one that is stuck.
func (s *Supervisor) stuck(v *service, seen map[*service]bool) bool {
	if v.st.phase != phaseWait || seen[v] {
		return false
	}
	seen[v] = true
	for _, name := range v.cfg.depends {
		// an essential one that gave up stops the container: not settled
		if d := s.services[name]; d != nil && (d.st.gaveUp && !d.st.wantUp && !d.cfg.essential || s.stuck(d, seen)) {
			return true
		}
	}
	return false
}
