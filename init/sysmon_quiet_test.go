//go:build quietsysmon

package pid1

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// The release build: quiet makes the runtime's forced-collection period
// endless (so sysmon sleeps), the next event gives Go's back.
func TestQuietSysmon(t *testing.T) {
	keepCollector(t)
	require.True(t, sysmonQuiet)
	require.Equal(t, int64(2*60*1e9), busyForcegcperiod, "Go's own period, read at start")
	q := newQuiet()
	q.trimmed = true
	q.settle()
	require.Equal(t, int64(math.MaxInt64), forcegcperiod)
	q.activity()
	require.Equal(t, busyForcegcperiod, forcegcperiod)
	q.timer.Stop()

	t.Setenv("GOGC", "100")
	q = newQuiet()
	q.trimmed = true
	q.settle()
	require.Equal(t, busyForcegcperiod, forcegcperiod, "GOGC from the environment: Go's behaviour stays")
	q.timer.Stop()
}
