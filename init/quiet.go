package pid1

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"time"
)

// While nothing happens, PID 1 should not run at all. Go's runtime collects
// garbage every two minutes even when there is none, so after a quiet spell
// svinit turns the collector's pacing off and keeps only a memory limit as
// a backstop (what it uses now, plus quietHeadroom: the log copier may still
// allocate a little), and turns the pacing back on at the next event. An
// explicit GOGC in the environment is left alone. In the release build the
// runtime's sysmon thread then sleeps until the next event too
// (sysmon_quiet.go). The first quiet spell — start-up is over — is also when
// svinit trims itself (trim.go).
const (
	gcPercent     = 25 // a 1 MiB minimum heap goal instead of Go's 4 MiB
	quietAfter    = time.Second
	quietHeadroom = 4 << 20
)

type quiet struct {
	pace    bool // svinit paces the collector (no GOGC in the environment)
	timer   *time.Timer
	off     bool // the collector is paced by the memory limit only
	trimmed bool
}

func newQuiet() *quiet {
	q := &quiet{pace: os.Getenv("GOGC") == "", timer: time.NewTimer(quietAfter)}
	if q.pace {
		debug.SetGCPercent(gcPercent)
	}
	return q
}

// C fires when the loop has been quiet for quietAfter.
func (q *quiet) C() <-chan time.Time { return q.timer.C }

// activity: an event came; pace the collector again, restart the clock.
func (q *quiet) activity() {
	if q.off {
		debug.SetGCPercent(gcPercent)
		debug.SetMemoryLimit(math.MaxInt64)
		sleepSysmon(false)
		q.off = false
	}
	q.timer.Reset(quietAfter)
}

// settle: the loop has been quiet; no collection until memory grows.
func (q *quiet) settle() {
	if !q.trimmed {
		trim()
		q.trimmed = true
	}
	if q.pace {
		debug.SetMemoryLimit(int64(inUse()) + quietHeadroom)
		debug.SetGCPercent(-1)
		sleepSysmon(true)
		q.off = true
	}
}

// inUse is the memory Go's limit counts: all it mapped, less what it
// returned to the OS.
func inUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Sys - m.HeapReleased
}
