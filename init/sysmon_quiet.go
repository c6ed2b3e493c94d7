//go:build quietsysmon

package pid1

import (
	"math"
	_ "unsafe" // for go:linkname
)

// While every P is idle, Go's sysmon thread sleeps at most half of
// runtime.forcegcperiod (a minute): the collection it forces every two
// minutes needs the clock. While quiet, svinit has no use for that
// collection (quiet.go turns the collector off), so it makes the period
// endless and sysmon sleeps until the runtime wakes it — a syscall, a timer,
// a goroutine made runnable — and an idle svinit is not on a CPU at all.
// At the next event the period is Go's again.
//
// The release build (cmd/svinit/release-build: the Dockerfile, bench/run, the
// tests under test/) has -tags quietsysmon -ldflags=-checklinkname=0: since
// Go 1.23 the linker refuses a //go:linkname to a runtime variable the
// runtime does not export without -checklinkname=0. A Go that renamed the
// variable would NOT fail that build: the declaration below would define the
// symbol itself, and setting it would change nothing. TestQuietSysmon (run
// by .ci/run with the release tags) fails then: it requires the variable to
// hold Go's own period.

//go:linkname forcegcperiod runtime.forcegcperiod
var forcegcperiod int64

// busyForcegcperiod is Go's own period, read before svinit first changes it.
var busyForcegcperiod = forcegcperiod

const sysmonQuiet = true

func sleepSysmon(quiet bool) {
	if quiet {
		forcegcperiod = math.MaxInt64 // sysmon sleeps MaxInt64/2 ns: 146 years
	} else {
		forcegcperiod = busyForcegcperiod
	}
}
