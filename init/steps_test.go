package pid1

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/svinit/svinit/supervisor"
)

// The steps run in order and the first failure ends the start-up with its
// code; svinit's own list is the documented order.
func TestRunSteps(t *testing.T) {
	var ran []string
	step := func(name string, code int, err error) Step {
		return Step{name, func() (int, error) { ran = append(ran, name); return code, err }}
	}
	code, err := runSteps([]Step{step("a", 0, nil), step("b", 3, errors.New("no")), step("c", 0, nil)})
	require.Equal(t, 3, code)
	require.EqualError(t, err, "no")
	require.Equal(t, []string{"a", "b"}, ran)

	var names []string
	for _, st := range (&initProc{}).steps() {
		names = append(names, st.Name)
	}
	require.Equal(t, []string{"signals", "collector", "gomaxprocs", "subreaper", "reaper", "secrets", "s6-overlay", "http",
		"log-format", "syslog", "supervisor", "main-command"}, names)
}

func TestStepGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	setGOMAXPROCS()
	require.Equal(t, 1, runtime.GOMAXPROCS(0))
}

// Without a service tree the main command starts at once (no readiness
// timer); with one it waits for it, at most --ready-timeout.
func TestStepMainCommand(t *testing.T) {
	in := &initProc{cfg: Config{}}
	in.stepMainCommand()
	require.False(t, in.pending, "no main command: nothing pending")

	in = &initProc{cfg: Config{Argv: []string{"true"}}}
	in.stepMainCommand()
	require.True(t, in.pending)
	require.Nil(t, in.timers.ready)

	in = &initProc{cfg: Config{Argv: []string{"true"}, ReadyWait: time.Hour}}
	in.stepSupervisorFake()
	in.stepMainCommand()
	require.True(t, in.pending)
	require.NotNil(t, in.timers.ready)
	in.timers.ready.Stop()
}

// stepSupervisorFake stands for a service tree being there.
func (in *initProc) stepSupervisorFake() { in.sup = new(supervisor.Supervisor) }

// Without -s (and with a main command) there is no supervisor.
func TestStepSupervisorNone(t *testing.T) {
	in := &initProc{cfg: Config{Argv: []string{"true"}}}
	in.stepSupervisor()
	require.Nil(t, in.sup)
}

func TestStepHTTPOff(t *testing.T) {
	in := &initProc{cfg: Config{}}
	in.stepHTTP() // no --http: nothing to serve, no warning, no panic
}
