package pid1

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// Quiet: the collector's pacing goes off with a finite memory limit as the
// backstop, and comes back at the next event; GOGC in the environment wins.
func TestQuietCollector(t *testing.T) {
	keepCollector(t)
	q := newQuiet()
	require.Equal(t, gcPercent, debug.SetGCPercent(gcPercent))
	q.trimmed = true // trim has its own test
	q.settle()
	require.Equal(t, -1, debug.SetGCPercent(-1))
	limit := debug.SetMemoryLimit(-1)
	require.Less(t, limit, int64(math.MaxInt64))
	require.Greater(t, limit, int64(quietHeadroom))
	q.activity()
	require.Equal(t, gcPercent, debug.SetGCPercent(gcPercent))
	require.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1))
	q.timer.Stop()

	t.Setenv("GOGC", "100")
	debug.SetGCPercent(100)
	q = newQuiet()
	q.trimmed = true
	q.settle()
	q.activity()
	require.Equal(t, 100, debug.SetGCPercent(100), "GOGC from the environment stays")
	q.timer.Stop()
}

// keepCollector: no GOGC in the environment for the test, and the
// collector's settings as they were after it.
func keepCollector(t *testing.T) {
	t.Setenv("GOGC", "")
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}
