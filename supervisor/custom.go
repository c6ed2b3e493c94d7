package supervisor

import (
	"path/filepath"

	"github.com/svinit/svinit/internal/poller"
	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/reaper"
	"github.com/svinit/svinit/supervisor/svdir"
	"golang.org/x/sys/unix"
)

// protocol is the service's supervise/ directory and its control FIFO,
// with runit's control/ scripts (custom.go).
type protocol struct {
	sup      *svdir.Supervise
	ctlToken poller.Token // the control FIFO's registration with the poller
	ctlQueue []byte       // commands waiting for a control script
	ctlProc  *reaper.Proc // ./control/C while it runs
	ctlCmd   byte         // the command ctlProc runs before (0: none)
	ctlAfter string       // ./control/d or x, to run once d or x is done
	handled  byte         // the command whose signal a control script stood in for
}

// runit's customised control (runsv(8), "CUSTOMIZE CONTROL"): before a
// command byte c is carried out, an executable ./control/c runs; if it exits
// 0 it did the job and the signal of c is not sent. o counts as u. For d and
// x while ./run runs: ./control/t in place of the TERM (the CONT is sent
// anyway), then ./control/d or ./control/x, whose exit does not matter. A
// logger's control is not customised. runsv blocks while a script runs;
// svinit queues that service's later commands and carries on with the rest.

// maxQueued bounds the commands a service keeps while a script runs.
const maxQueued = 4096

// queueCommands takes command bytes from the control FIFO.
func (s *Supervisor) queueCommands(v *service, cmds []byte) {
	if room := maxQueued - len(v.ctlQueue); len(cmds) > room {
		svlog.Warn("%s/supervise/control: %d commands wait for ./control; %d more dropped", v.dir, len(v.ctlQueue), len(cmds)-room)
		cmds = cmds[:room]
	}
	v.ctlQueue = append(v.ctlQueue, cmds...)
	s.runCommands(v)
}

// runCommands carries out the queued commands until one waits for a script.
func (s *Supervisor) runCommands(v *service) {
	for v.ctlProc == nil && len(v.ctlQueue) > 0 && !v.released {
		c := v.ctlQueue[0]
		v.ctlQueue = v.ctlQueue[1:]
		s.command(v, c)
	}
}

// command carries out one command byte, or starts the script it waits for.
func (s *Supervisor) command(v *service, c byte) {
	if v.s6 != nil { // s6: no control/ scripts
		ev := s.s6Event(v, c)
		if ev.kind == evExitLater && v.parent != nil {
			return // x on a logger: it stops with its service
		}
		s.dispatch(v, ev)
		return
	}
	ev := commands[c]
	if ev.kind == evExit && v.parent != nil {
		return // x on a logger: ignored, as runsv does
	}
	before, after := customScripts(v, c)
	v.ctlAfter = after
	if before != "" {
		v.ctlCmd = c
		s.startCustom(v, before)
		return
	}
	s.dispatch(v, ev)
	s.afterCommand(v)
}

// afterCommand starts ./control/d or ./control/x once d or x is done.
func (s *Supervisor) afterCommand(v *service) {
	after := v.ctlAfter
	v.ctlAfter = ""
	if after != "" && !v.released {
		s.startCustom(v, after)
	}
}

// customScripts are the scripts around command c: the one it waits for,
// and the one after it ("" for none).
func customScripts(v *service, c byte) (before, after string) {
	if v.parent != nil {
		return "", ""
	}
	running := v.st.phase == phaseUp && v.proc != nil
	switch c {
	case 'u', 'o':
		return controlScript(v, 'u'), ""
	case 'd', 'x':
		if !running {
			return "", ""
		}
		return controlScript(v, 't'), controlScript(v, c)
	}
	if !running {
		return "", ""
	}
	return controlScript(v, c), ""
}

// controlScript is ./control/c if it is an executable file.
func controlScript(v *service, c byte) string {
	path := filepath.Join(v.dir, "control", string(c))
	if !isExecutableFile(path) { // raw: nowake.go
		return ""
	}
	return path
}

func (s *Supervisor) startCustom(v *service, path string) {
	spec := s.spec(v, path, []string{"./control/" + filepath.Base(path)})
	p, err := s.reaper.Start(spec)
	if err != nil {
		svlog.Warn("%s: %v", v.name, err)
		s.customDone(v, reaper.Exit{Status: 1 << 8})
		return
	}
	v.ctlProc = p
	s.byProc[p] = v
}

// customDone takes the exit of a control script (or its failure to
// start, as exit 1): the command it waited for is carried out, without its
// signal if the script exited 0; then the script after it, or the next
// command.
func (s *Supervisor) customDone(v *service, e reaper.Exit) {
	v.ctlProc = nil
	if v.released {
		return
	}
	if c := v.ctlCmd; c != 0 {
		v.ctlCmd = 0
		var handled byte
		if e.Code() == 0 {
			handled = c
		}
		s.dispatchAll(queued{v: v, ev: commands[c], handled: handled})
		s.afterCommand(v)
		if v.ctlProc != nil {
			return
		}
	}
	s.runCommands(v)
}

// suppressed: the action sends the signal a control script that exited 0
// stands in for (d and x: the stop signal, not the CONT after it).
func (v *service) suppressed(a action) bool {
	c := v.handled
	switch {
	case c == 0:
		return false
	case a.kind == actDownSignal:
		return c == 'd' || c == 'x'
	case a.kind != actSignal:
		return false
	case c == 'p':
		return a.sig == unix.SIGSTOP
	case c == 'c':
		return a.sig == unix.SIGCONT
	}
	ev := commands[c]
	return ev.kind == evSignal && a.sig == ev.sig
}
