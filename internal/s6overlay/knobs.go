// Package s6overlay is svinit standing in for s6-overlay v3: it reads an
// image's s6-overlay layout (/etc/cont-init.d, /etc/cont-finish.d,
// /etc/services.d, /etc/s6-overlay/s6-rc.d) and its S6_* variables, and
// translates them into svinit's own model: service directories under
// /run/service (the live directory s6-overlay uses) in s6 protocol mode,
// oneshots with generated run/undo scripts, depends files, and svinit's
// options. See docs/migrating-s6-overlay.md.
package s6overlay

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Knobs are the S6_* variables svinit maps onto its own model.
type Knobs struct {
	Behaviour      int           // S6_BEHAVIOUR_IF_STAGE2_FAILS: 0 go on, 1 warn, 2 stop
	WaitMax        time.Duration // S6_CMD_WAIT_FOR_SERVICES_MAXTIME: 0 is forever
	ServicesGrace  time.Duration // S6_SERVICES_GRACETIME: TERM → KILL of a longrun (3000 ms)
	KillGrace      time.Duration // S6_KILL_GRACETIME: TERM → KILL of what is left at the end (3000 ms)
	FinishMax      time.Duration // S6_KILL_FINISH_MAXTIME: a cont-finish script → KILL (5000 ms)
	ReceiveSignals bool          // S6_CMD_RECEIVE_SIGNALS
	ReadOnlyRoot   bool          // S6_READ_ONLY_ROOT
	Verbosity      int           // S6_VERBOSITY (2)
	Logging        int           // S6_LOGGING (0)
	KeepEnv        bool          // S6_KEEP_ENV
	CmdArg0        []string      // S6_CMD_ARG0: words put before the CMD
	FixAttrsHidden bool          // S6_FIX_ATTRS_HIDDEN: fix-attrs.d recursion changes dot files too
	LoggingScript  string        // S6_LOGGING_SCRIPT: the catch-all logger's directives
}

// DefaultKnobs are s6-overlay's defaults (its README).
func DefaultKnobs() Knobs {
	return Knobs{ServicesGrace: 3000 * time.Millisecond, KillGrace: 3000 * time.Millisecond,
		FinishMax: 5000 * time.Millisecond, Verbosity: 2, LoggingScript: DefaultLoggingScript}
}

// unhonoured are the S6_* variables svinit does not act on, with why: each
// one set is named in a warning at start.
var unhonoured = map[string]string{
	"S6_STAGE2_HOOK":         "svinit runs no stage-2 hook (the service database is not compiled at run time)",
	"S6_RUNTIME_PROFILE":     "svinit reads /etc/s6-overlay and /etc/cont-*.d only",
	"S6_RUNTIME_BUNDLEDIR":   "svinit reads the user bundles from /etc/s6-overlay only",
	"S6_CMD_USE_TERMINAL":    "with S6_LOGGING 2 the CMD's output always goes to the catch-all logger",
	"S6_CATCHALL_USER":       "svinit's catch-all logger runs in PID 1, as svinit's user",
	"S6_SYNC_DISKS":          "svinit does not sync the file systems at the end",
	"S6_WAIT_FOR_CLOSING_FD": "svinit does not wait for an fd to close at the end",
	"S6_YES_I_WANT_A_WORLD_WRITABLE_RUN_BECAUSE_KUBERNETES": "svinit does not check /run's permissions",
}

// honoured are the variables read by ReadKnobs, and those that need
// nothing from svinit.
var honoured = map[string]bool{
	"S6_BEHAVIOUR_IF_STAGE2_FAILS": true, "S6_CMD_WAIT_FOR_SERVICES_MAXTIME": true,
	"S6_SERVICES_GRACETIME": true, "S6_KILL_GRACETIME": true, "S6_KILL_FINISH_MAXTIME": true,
	"S6_CMD_RECEIVE_SIGNALS": true, "S6_READ_ONLY_ROOT": true, "S6_VERBOSITY": true,
	"S6_LOGGING": true, "S6_KEEP_ENV": true, "S6_CMD_ARG0": true, "S6_FIX_ATTRS_HIDDEN": true,
	"S6_LOGGING_SCRIPT": true,
	// svinit's readiness is its own: no race to sleep over, and the CMD
	// always waits for the services (S6_CMD_WAIT_FOR_SERVICES=1).
	"S6_SERVICES_READYTIME": true, "S6_CMD_WAIT_FOR_SERVICES": true,
	"S6_OVERLAY_VERSION": true, // the Dockerfile's ARG, often left in the environment
}

// ReadKnobs reads the S6_* variables of environ ("NAME=value"): the knobs,
// and a warning for every variable set that svinit does not honour or
// cannot read (which then keeps its default).
func ReadKnobs(environ []string) (Knobs, []string) {
	k := DefaultKnobs()
	var warns []string
	vars := map[string]string{}
	for _, kv := range environ {
		name, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "S6_") {
			vars[name] = v
		}
	}
	num := func(name string, dst *int) bool {
		v, ok := vars[name]
		if !ok || v == "" {
			return false
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 31)
		if err != nil {
			warns = append(warns, fmt.Sprintf("%s=%q is not a whole number: default %d kept", name, v, *dst))
			return false
		}
		*dst = int(n)
		return true
	}
	ms := func(name string, dst *time.Duration) {
		n := int(*dst / time.Millisecond)
		if num(name, &n) {
			*dst = time.Duration(n) * time.Millisecond
		}
	}
	flag := func(name string, dst *bool) bool {
		n := 0
		set := num(name, &n)
		*dst = n != 0
		return set
	}
	num("S6_BEHAVIOUR_IF_STAGE2_FAILS", &k.Behaviour)
	ms("S6_CMD_WAIT_FOR_SERVICES_MAXTIME", &k.WaitMax)
	ms("S6_SERVICES_GRACETIME", &k.ServicesGrace)
	ms("S6_KILL_GRACETIME", &k.KillGrace)
	ms("S6_KILL_FINISH_MAXTIME", &k.FinishMax)
	if flag("S6_CMD_RECEIVE_SIGNALS", &k.ReceiveSignals) && !k.ReceiveSignals {
		warns = append(warns, "S6_CMD_RECEIVE_SIGNALS=0 is not honoured: svinit always passes docker stop's TERM to the CMD first, and stops the services once the CMD has exited")
	}
	flag("S6_READ_ONLY_ROOT", &k.ReadOnlyRoot)
	num("S6_VERBOSITY", &k.Verbosity)
	if k.Verbosity < 2 {
		warns = append(warns, fmt.Sprintf("S6_VERBOSITY=%d is honoured for cont-init/cont-finish only: svinit's own info lines are still printed", k.Verbosity))
	}
	num("S6_LOGGING", &k.Logging)
	if k.Logging > 2 {
		warns = append(warns, fmt.Sprintf("S6_LOGGING=%d is not 0, 1 or 2: 2 taken", k.Logging))
		k.Logging = 2
	}
	if v := strings.TrimSpace(vars["S6_LOGGING_SCRIPT"]); v != "" {
		k.LoggingScript = v
	}
	flag("S6_KEEP_ENV", &k.KeepEnv)
	flag("S6_FIX_ATTRS_HIDDEN", &k.FixAttrsHidden)
	if f := strings.Fields(vars["S6_CMD_ARG0"]); len(f) > 0 {
		k.CmdArg0 = f
	}
	var names []string
	for name, v := range vars {
		if v == "" || honoured[name] {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		why, ok := unhonoured[name]
		if !ok {
			why = "svinit does not know this variable"
		}
		warns = append(warns, fmt.Sprintf("%s is not honoured: %s", name, why))
	}
	return k, warns
}

// Grace is svinit's shutdown deadline for the s6-overlay sequence: the
// services' TERM → KILL, each cont-finish script's limit, and the last
// TERM → KILL of what is left.
func (k Knobs) Grace(finishScripts int) time.Duration {
	return k.ServicesGrace + time.Duration(finishScripts)*k.FinishMax + k.KillGrace
}
