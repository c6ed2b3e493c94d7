package supervisor

import (
	"os"
	"time"

	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// health is the liveness probing of the current ./run: one probe at a time,
// health-interval after the last one ended (the first one health-interval
// after the start, as Docker's HEALTHCHECK). The life cycle decides what a
// result means (probed in state.go); this only runs the probes.
type health struct {
	healthGen   int        // bumped at each start and exit: a probe of another run is ignored
	healthNext  *loopTimer // the next probe
	healthProbe *probe     // the exec probe that runs now
	healthNet   *netProbe  // the built-in probe under way
	probeOut    *os.File   // a memfd: the exec probes' output, kept for the next one
	healthOut   string     // what the last probe said
	everReady   bool       // ready (or done) at least once since svinit started
}

// startHealth begins probing a ./run that just started.
func (s *Supervisor) startHealth(v *service) {
	v.healthGen++
	v.healthOut = ""
	if v.cfg.health.kind != probeNone {
		s.cancel(v.healthNext)
		gen, every := v.healthGen, v.cfg.healthEvery
		// the first probe on a grid of a tenth of the interval: services
		// started together are probed together from then on (probeDone's
		// next probe counts from the batch), one wake-up for them all
		v.healthNext = s.afterOn(every, every/10, func() { s.probeDue(v, gen) })
	}
}

// stopHealth forgets the probing of a ./run that exited; an exec probe
// still running is killed with its group.
func (s *Supervisor) stopHealth(v *service) {
	v.healthGen++
	s.cancel(v.healthNext)
	v.healthNext = nil
	if v.healthNet != nil {
		v.healthNet.cancel()
		v.healthNet = nil
	}
	if pr := v.healthProbe; pr != nil {
		pr.timeout = true
		_ = s.reaper.Signal(pr.proc, unix.SIGKILL, true)
	}
}

// nextProbe runs the next health probe after health-interval.
func (s *Supervisor) nextProbe(v *service, gen int) {
	s.cancel(v.healthNext)
	v.healthNext = s.after(v.cfg.healthEvery, func() { s.probeDue(v, gen) })
}

func (s *Supervisor) probeDue(v *service, gen int) {
	v.healthNext = nil
	if gen != v.healthGen || v.st.phase != phaseUp || v.released {
		return
	}
	if v.healthProbe != nil { // the last one, killed, has not exited yet: not two at once
		s.nextProbe(v, gen)
		return
	}
	s.runProbe(v, gen)
}

func (s *Supervisor) runProbe(v *service, gen int) {
	spec, timeout := v.cfg.health, v.cfg.healthTimeout
	if spec.kind != probeExec {
		np := s.startNetProbe(spec, timeout, func(r probeResult) {
			v.healthNet = nil
			s.probeDone(v, gen, r)
		})
		if !np.over {
			v.healthNet = np
		}
		return
	}
	pr, err := s.startExecProbe(v, spec.target)
	if err != nil {
		s.probeDone(v, gen, probeResult{out: err.Error()}) // a probe that cannot start failed
		return
	}
	v.healthProbe = pr
	s.byProc[pr.proc] = v
	s.killProbeAfter(v, pr, timeout)
	pr.gen = gen
}

// healthExited takes the exit of an exec health probe.
func (s *Supervisor) healthExited(v *service, e reaper.Exit) {
	pr := v.healthProbe
	v.healthProbe = nil
	s.cancel(pr.timer)
	if v.released {
		s.closeProbeOutput(v)
		return
	}
	s.probeDone(v, pr.gen, pr.result(v, e))
}

// probeDone feeds a probe's result to the life cycle and, while the same
// ./run is up, schedules the next one.
func (s *Supervisor) probeDone(v *service, gen int, r probeResult) {
	if gen != v.healthGen || v.st.phase != phaseUp || v.released {
		return
	}
	v.healthOut = r.out
	wasUnhealthy := v.st.unhealthy
	early := time.Since(v.started) < v.cfg.healthStart
	s.dispatch(v, event{kind: evProbe, ok: r.ok, early: early})
	if wasUnhealthy && !v.st.unhealthy {
		svlog.Info("%s: healthy again: %s", v.name, r.out)
	}
	if gen == v.healthGen && v.st.phase == phaseUp {
		s.nextProbe(v, gen)
	}
}

// unhealthy reports a service that became unhealthy (actUnhealthy).
func (s *Supervisor) unhealthy(v *service) {
	what := "restarting it"
	if !v.st.healthKill {
		what = "left running (health-action mark)"
		if !v.st.wantUp || v.st.stopping {
			what = "it is already stopping"
		}
	}
	v.lastErr = "unhealthy: " + v.healthOut
	svlog.Warn("%s: unhealthy: %d health probes failed in a row, %s; the last said: %s", v.name, v.st.healthFails, what, v.healthOut)
}

// healthText is the health svstat and /metrics show: "" without a probe.
func (v *service) healthText() string {
	switch {
	case v.cfg.health.kind == probeNone || v.st.phase != phaseUp:
		return ""
	case v.st.unhealthy:
		return "unhealthy"
	case v.st.healthOK:
		return "healthy"
	}
	return "starting"
}
