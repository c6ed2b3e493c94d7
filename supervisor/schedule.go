package supervisor

import (
	"time"

	"github.com/svinit/svinit/internal/svlog"
)

// schedTimer is a scheduled service's timer: at each time its schedule
// says, an evTick (the life cycle starts ./run, or skips the tick while
// the last run still runs). Times follow the schedule's time zone: a
// CRON_TZ= prefix, else svinit's own (TZ, else /etc/localtime).
type schedTimer struct {
	nextRun  time.Time // the next tick ("" when none is armed)
	sched    *loopTimer
	schedGen int // a timer of an older generation is ignored
}

// armSchedule arms the timer for the next time the schedule says.
func (s *Supervisor) armSchedule(v *service) {
	s.stopSchedule(v)
	if v.cfg.kind != scheduled || v.cfg.schedule == nil || v.released || s.stopping {
		return
	}
	now := time.Now()
	next := v.cfg.schedule.Next(now)
	if next.IsZero() {
		svlog.Warn("%s/schedule: no time to run ever again", v.dir)
		return
	}
	v.nextRun = next
	gen := v.schedGen
	v.sched = s.after(next.Sub(now), func() {
		if gen != v.schedGen || v.released {
			return
		}
		v.nextRun = time.Time{}
		s.dispatch(v, event{kind: evTick})
		s.armSchedule(v)
		s.announce(v)
	})
}

func (s *Supervisor) stopSchedule(v *service) {
	v.schedGen++
	v.nextRun = time.Time{}
	s.cancel(v.sched)
	v.sched = nil
}
