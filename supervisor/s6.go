package supervisor

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/errstr"
	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/supervisor/svdir"
	"golang.org/x/sys/unix"
)

// The s6 layout (docs/s6-protocol.md): with Options.Protocol "s6" (or
// SVINIT_PROTOCOL=s6), every directory of the tree keeps s6 2.11's on-disk
// protocol — the 35-byte status, s6's control bytes, the event/ fifodir,
// death_tally — so s6-svc, s6-svstat, s6-svwait and s6-svok work as they do
// with s6-supervise. The life cycle stays svinit's (next); this file only
// records what s6's status says and tells the listeners, at the moments
// s6-supervise does.

// Protocols a tree can speak.
const (
	ProtocolDaemontools = "daemontools" // daemontools/runit's supervise/ (the default)
	ProtocolS6          = "s6"          // s6 2.11's supervise/ and event/
)

// ProtocolEnv names the variable that picks the protocol when
// Options.Protocol is empty.
const ProtocolEnv = "SVINIT_PROTOCOL"

// protocol is the tree's protocol: Options.Protocol, else $SVINIT_PROTOCOL,
// else daemontools. An unknown name is reported once, at Start.
func (s *Supervisor) protocol() (string, bool) {
	p := s.opts.Protocol
	if p == "" {
		p = os.Getenv(ProtocolEnv)
	}
	switch p {
	case "", ProtocolDaemontools, "runit":
		return ProtocolDaemontools, true
	case ProtocolS6:
		return ProtocolS6, true
	}
	return ProtocolDaemontools, false
}

func (s *Supervisor) isS6() bool { p, _ := s.protocol(); return p == ProtocolS6 }

// checkProtocol warns about an unknown protocol name (daemontools is used).
func (s *Supervisor) checkProtocol() {
	if _, ok := s.protocol(); !ok {
		p := s.opts.Protocol
		if p == "" {
			p = os.Getenv(ProtocolEnv)
		}
		svlog.Warn("protocol %q: unknown (daemontools or s6): the tree speaks daemontools/runit", p)
	}
}

// s6state is what s6's status holds beyond svinit's own state, and the
// events not yet sent to event/.
type s6state struct {
	stamp      time.Time     // the last change between up and down
	readyStamp time.Time     // readiness notified, or down after ./finish
	wstat      uint16        // ./run's last wait status
	ready      bool          // s6's flagready
	events     []byte        // for event/, sent after the next status write
	deaths     []svdir.Death // death_tally, oldest first
}

// s6Begin is a directory taken over: down and "ready" (s6's initial
// record), and the 's' event.
func (v *service) s6Begin() {
	now := time.Now()
	v.s6 = &s6state{stamp: now, readyStamp: now, ready: true, events: []byte{'s'}}
}

// s6Started: ./run started ('u').
func (v *service) s6Started() {
	if v.s6 == nil {
		return
	}
	v.s6.stamp, v.s6.ready = time.Now(), false
	v.s6.events = append(v.s6.events, 'u')
}

// s6Ready: the notification fd (or ./check) said ready ('U').
func (v *service) s6Ready() {
	if v.s6 == nil {
		return
	}
	v.s6.readyStamp, v.s6.ready = time.Now(), true
	v.s6.events = append(v.s6.events, 'U')
}

// s6Died: ./run exited ('d'); death_tally gets the death.
func (s *Supervisor) s6Died(v *service, ws unix.WaitStatus) {
	if v.s6 == nil {
		return
	}
	now := time.Now()
	v.s6.stamp, v.s6.wstat, v.s6.ready = now, uint16(ws), false
	v.s6.events = append(v.s6.events, 'd')
	d := svdir.Death{When: now, Code: byte(ws.ExitStatus())}
	if ws.Signaled() {
		d.Sig = byte(ws.Signal())
		d.Code = 128 + d.Sig
	}
	max := maxDeathTally(v.dir)
	if max == 0 {
		return
	}
	v.s6.deaths = append(v.s6.deaths, d)
	if len(v.s6.deaths) > max {
		v.s6.deaths = v.s6.deaths[len(v.s6.deaths)-max:]
	}
	if v.sup != nil {
		if err := v.sup.WriteDeaths(v.s6.deaths); err != nil {
			s.warnOnce(v.name+"/death_tally", err.Error())
		}
	}
}

// s6FinishArgs are s6's arguments to ./finish: the exit code (256 if
// killed), the signal number (0 if it exited), the service's name.
func s6FinishArgs(ws unix.WaitStatus, name string) []string {
	if ws.Signaled() {
		return []string{"256", strconv.Itoa(int(ws.Signal())), name}
	}
	return []string{strconv.Itoa(ws.ExitStatus()), "0", name}
}

// maxDeathTally is the service's max-death-tally (100; at most 4096).
func maxDeathTally(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "max-death-tally"))
	if err != nil {
		return 100
	}
	line, _, _ := strings.Cut(string(b), "\n")
	n, err := strconv.Atoi(line)
	if err != nil || n < 0 {
		return 100
	}
	return min(n, 4096)
}

// s6FinishDone: ./finish is over ('D'; "OD" when it said the service failed
// for good): down and ready.
func (v *service) s6FinishDone(permanent bool) {
	if v.s6 == nil {
		return
	}
	v.s6.readyStamp, v.s6.ready = time.Now(), true
	if permanent {
		v.s6.events = append(v.s6.events, 'O')
	}
	v.s6.events = append(v.s6.events, 'D')
}

// s6Observe records the s6 events an event of the life cycle caused: the
// end of ./finish ('D'), and the end of ./run with no ./finish to run at
// all after the stop deadline ("d" was sent by runDied).
func (v *service) s6Observe(from state, ev event) {
	if v.s6 == nil {
		return
	}
	switch {
	case ev.kind == evFinishDone && from.phase == phaseFinish:
		v.s6FinishDone(from.policy.finish125 && ev.code == 125 && from.wantUp)
	case ev.kind == evRunDied && from.phase == phaseUp && v.st.phase != phaseFinish:
		v.s6FinishDone(false)
	}
}

// s6Status is s6's 35-byte record for the current state.
func (v *service) s6Status() svdir.S6Status {
	st := v.status()
	return svdir.S6Status{
		Stamp: v.s6.stamp, ReadyStamp: v.s6.readyStamp, Pid: st.Pid, Wstat: v.s6.wstat,
		Paused:    st.Paused && st.State == svdir.StateRun,
		Finishing: st.State == svdir.StateFinish && st.Pid != 0,
		WantUp:    v.st.wantUp,
		Ready:     v.s6.ready,
	}
}

// s6Notify sends the pending events to event/'s listeners.
func (s *Supervisor) s6Notify(v *service) {
	if v.s6 == nil || len(v.s6.events) == 0 {
		return
	}
	ev := v.s6.events
	v.s6.events = nil
	if _, err := svdir.NotifyEvents(v.dir, ev); err != nil {
		s.warnOnce(v.name+"/event", v.name+": "+err.Error())
	}
}

// s6Command is one of s6's control bytes: the life-cycle event, and the
// ./down file it creates (D, Q) or removes (U) first, as s6-supervise does.
type s6Command struct {
	ev      event
	down    int8 // +1: create ./down; -1: remove it
	downSig bool // r: the service's down-signal
}

// s6Commands are s6 2.11's control bytes (s6-supervise's handle_control).
var s6Commands = map[byte]s6Command{
	'a': {ev: event{kind: evSignal, sig: unix.SIGALRM}}, 'b': {ev: event{kind: evSignal, sig: unix.SIGABRT}},
	'q': {ev: event{kind: evSignal, sig: unix.SIGQUIT}}, 'h': {ev: event{kind: evSignal, sig: unix.SIGHUP}},
	'k': {ev: event{kind: evSignal, sig: unix.SIGKILL}}, 't': {ev: event{kind: evSignal, sig: unix.SIGTERM}},
	'i': {ev: event{kind: evSignal, sig: unix.SIGINT}}, '1': {ev: event{kind: evSignal, sig: unix.SIGUSR1}},
	'2': {ev: event{kind: evSignal, sig: unix.SIGUSR2}}, 'y': {ev: event{kind: evSignal, sig: unix.SIGWINCH}},
	'r': {ev: event{kind: evSignal}, downSig: true},
	'p': {ev: event{kind: evPause}}, 'c': {ev: event{kind: evCont}},
	'o': {ev: event{kind: evOnce}}, 'd': {ev: event{kind: evDown}}, 'u': {ev: event{kind: evUp}},
	'D': {ev: event{kind: evDown}, down: 1}, 'U': {ev: event{kind: evUp}, down: -1},
	'x': {ev: event{kind: evExitLater}}, 'O': {ev: event{kind: evWantDown}},
	'Q': {ev: event{kind: evWantDown}, down: 1},
}

// s6Event turns one s6 control byte into its event, doing the ./down file
// part first.
func (s *Supervisor) s6Event(v *service, c byte) event {
	cmd := s6Commands[c]
	path := filepath.Join(v.dir, "down")
	switch cmd.down {
	case 1:
		if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			svlog.Warn("unable to create %s: %s", path, errstr.Text(err))
		} else {
			f.Close()
		}
	case -1:
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			svlog.Warn("unable to remove %s: %s", path, errstr.Text(err))
		}
	}
	ev := cmd.ev
	if cmd.downSig {
		s.readConfig(v)
		ev.sig = v.cfg.downSignal
	}
	return ev
}
