package supervisor

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/errstr"

	"github.com/svinit/svinit/internal/logmux"
	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/supervisor/svdir"
	"golang.org/x/sys/unix"
)

// output is where the service's lines go: its logger's pipe, or svinit's
// output with its name in front.
type output struct {
	log      *service     // this service's logger (log/)
	parent   *service     // for a logger: the service it logs
	pipeOut  *os.File     // write end: ./run's stdout when there is a logger
	pipeIn   *os.File     // read end: the logger's stdin
	out, err *logmux.Pipe // stdout and stderr, prefixed with the name (nil: svinit's own)
}

// scan compares the tree with the services supervised: new directories are
// added, vanished (or replaced) ones are stopped and forgotten.
func (s *Supervisor) scan() {
	if s.stopping {
		return
	}
	entries, err := os.ReadDir(s.root)
	if err != nil {
		s.warnOnce("", "unable to scan "+s.root+": "+errstr.Text(err))
		return
	}
	delete(s.warned, "")
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	s.ensureNofile(n)
	s.checkPids(n)
	if s.reaper != nil {
		s.reaper.FdsHeld(max(n, len(s.services)) * fdsPerService)
	}
	seen := map[string]bool{}
	var added []*service
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		dir := filepath.Join(s.root, name)
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			s.warnOnce(name, "unable to stat "+dir+": "+errstr.Text(err))
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		delete(s.warned, name)
		seen[name] = true
		if time.Since(s.released[name]) < readopt {
			continue
		}
		if old := s.services[name]; old != nil && old.ino != st.Ino && !old.st.exiting {
			s.remove(old)
		}
		if s.services[name] == nil {
			if v := s.add(name, dir, st.Ino); v != nil {
				added = append(added, v)
			}
		}
	}
	// New services start by priority (0 without the file), then name; they
	// do not wait for each other.
	sort.SliceStable(added, func(i, j int) bool { return added[i].cfg.priority < added[j].cfg.priority })
	for _, v := range added {
		if v.log != nil {
			s.begin(v.log)
		}
		s.begin(v)
	}
	for name, v := range s.services {
		if !seen[name] && !v.st.exiting {
			s.remove(v)
		}
	}
}

// remove stops a service whose directory is gone: TERM now, KILL when its
// grace is over, then it is forgotten.
func (s *Supervisor) remove(v *service) {
	s.dispatch(v, event{kind: evRemoved})
	if v.released || s.opts.Grace <= 0 {
		return
	}
	s.after(s.opts.Grace, func() {
		if !v.released && v.proc != nil {
			svlog.Warn("%s: still running %v after its directory was removed: killed", v.name, s.opts.Grace)
			s.signal(v, unix.SIGKILL, v.cfg.downGroup)
		}
	})
}

func (s *Supervisor) warnOnce(key, msg string) {
	if s.warned[key] != msg {
		s.warned[key] = msg
		svlog.Warn("%s", msg)
	}
}

// add takes over one service directory (and its log/) and reads their
// configuration; begin starts them.
func (s *Supervisor) add(name, dir string, ino uint64) *service {
	if !s.roomFor(name) {
		return nil
	}
	v := &service{name: name, dir: dir, ino: ino, readiness: readiness{notifyR: -1}}
	logDir := filepath.Join(dir, "log")
	if st, err := os.Stat(logDir); err == nil && st.IsDir() {
		r, w, err := os.Pipe()
		if err != nil {
			s.warnOnce(name, "unable to make the log pipe for "+dir+": "+errstr.Text(err))
			return nil
		}
		v.log = &service{name: name + "/log", dir: logDir, readiness: readiness{notifyR: -1},
			output: output{parent: v, pipeIn: r, pipeOut: w}}
	}
	if !s.open(v) {
		v.closePipe()
		return nil
	}
	if v.log != nil && !s.open(v.log) {
		v.log = nil
	}
	s.services[name] = v
	if v.log != nil {
		s.loggers++
	}
	if v.log != nil {
		s.readConfig(v.log)
	}
	s.readConfig(v)
	return v
}

// open takes over the service's supervise/ directory, and makes the pipes
// that carry its output to svinit's, prefixed with its name.
func (s *Supervisor) open(v *service) bool {
	sup, err := svdir.OpenMode(v.dir, s.isS6())
	if err != nil {
		s.warnOnce(v.name, v.name+": not started: "+err.Error())
		return false
	}
	v.sup = sup
	if s.isS6() {
		v.s6Begin()
	}
	s.watchControl(v)
	if s.opts.Logs != nil {
		if v.out, err = s.opts.Logs.Add(v.name, "stdout"); err == nil {
			v.err, err = s.opts.Logs.Add(v.name, "stderr")
		}
		if err != nil {
			svlog.Warn("%s: unable to make its output pipes: %s: it writes to svinit's own stdout", v.name, errstr.Text(err))
			s.closeOutput(v)
		}
	}
	return true
}

func (s *Supervisor) closeOutput(v *service) {
	for _, p := range []*logmux.Pipe{v.out, v.err} {
		if p != nil {
			s.opts.Logs.Close(p)
		}
	}
	v.out, v.err = nil, nil
}

// begin announces the initial state and starts the service unless ./down
// says it is normally down.
func (s *Supervisor) begin(v *service) {
	if v.cfg.kind == scheduled {
		v.when = time.Now()
		if v.cfg.schedule == nil {
			v.lastErr = "not scheduled: " + v.dir + "/schedule is not a schedule"
		}
		s.armSchedule(v)
		s.announce(v)
		return
	}
	if v.cfg.has("down") && exists(filepath.Join(v.dir, "down")) {
		v.when = time.Now()
		s.announce(v)
		return
	}
	s.dispatch(v, event{kind: evUp})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// watchControl registers the service's control FIFO with the poller.
func (s *Supervisor) watchControl(v *service) {
	if s.poller == nil {
		return // no epoll: warned at start; the service runs, uncontrolled
	}
	tok, err := s.watchFd(int(v.sup.Control.Fd()), func() { s.controlReady(v) })
	if err != nil {
		s.warnOnce(v.name, "unable to watch "+v.sup.Control.Name()+": "+errstr.Text(err))
		return
	}
	v.ctlToken = tok
}

// controlReady reads what was written to a service's control FIFO, applies
// it, and asks for more.
func (s *Supervisor) controlReady(v *service) {
	if v.released {
		return
	}
	fd := int(v.sup.Control.Fd())
	buf := make([]byte, 512)
	for !v.released {
		n := readNow(fd, buf)
		if n <= 0 {
			break
		}
		s.control(v, string(buf[:n]))
	}
	if !v.released {
		s.poller.Rearm(fd, v.ctlToken)
	}
}

// commands maps control bytes to events (runit's meanings).
var commands = map[byte]event{
	'u': {kind: evUp}, 'd': {kind: evDown}, 'o': {kind: evOnce}, 'x': {kind: evExit},
	'p': {kind: evPause}, 'c': {kind: evCont},
	'h': {kind: evSignal, sig: unix.SIGHUP}, 'a': {kind: evSignal, sig: unix.SIGALRM}, 'i': {kind: evSignal, sig: unix.SIGINT},
	'q': {kind: evSignal, sig: unix.SIGQUIT}, '1': {kind: evSignal, sig: unix.SIGUSR1}, '2': {kind: evSignal, sig: unix.SIGUSR2},
	't': {kind: evSignal, sig: unix.SIGTERM}, 'k': {kind: evSignal, sig: unix.SIGKILL},
}

// control applies command bytes in order (custom.go). Unknown bytes are
// reported once per batch.
func (s *Supervisor) control(v *service, cmds string) {
	known := make([]byte, 0, len(cmds))
	for i := 0; i < len(cmds); i++ {
		_, ok := commands[cmds[i]]
		if v.s6 != nil {
			_, ok = s6Commands[cmds[i]]
		}
		if ok {
			known = append(known, cmds[i])
		}
	}
	if unknown := len(cmds) - len(known); unknown > 0 {
		svlog.Warn("%s/supervise/control: ignored %d unknown command bytes", v.dir, unknown)
	}
	s.queueCommands(v, known)
}

// release stops supervising a service that is down: its logger is stopped
// next (the pipe closes first, so the logger sees the end of its input).
func (s *Supervisor) release(v *service) {
	if v.released {
		return
	}
	v.released = true
	delete(s.waiting, v)
	s.stopSchedule(v)
	s.stopHealth(v)
	if v.healthProbe == nil { // else once it has exited (healthExited)
		s.closeProbeOutput(v)
	}
	v.timerGen++
	s.cancel(v.timer)
	if v.sup != nil {
		if v.s6 != nil { // s6-supervise's last words: its final status, then 'x'
			v.s6.events = append(v.s6.events, 'x')
			s.announce(v)
		}
		if v.ctlToken != 0 && s.poller != nil {
			s.poller.Remove(int(v.sup.Control.Fd()), v.ctlToken)
		}
		v.sup.Close()
	}
	s.closeOutput(v)
	if v.parent != nil {
		v.closePipe()
		if v.parent.released {
			s.forget(v.parent)
		}
		return
	}
	if v.log != nil && !v.log.released {
		v.log.pipeOut.Close()
		v.log.pipeOut = nil
		// its logger stops next: after the end of its input
		ev := event{kind: evExit}
		if v.log.st.stopping {
			ev = event{kind: evUnheld}
		}
		s.dispatch(v.log, ev)
		if !v.log.released {
			return
		}
	}
	s.forget(v)
}

// readopt is how long a released directory that is still there waits before
// it is supervised again: sv shutdown polls every 420 ms and must see that
// the supervisor went away (runsvdir takes about 1 s too).
const readopt = 1100 * time.Millisecond

// forget drops a released service; a directory still (or again) there is
// supervised again after readopt.
func (s *Supervisor) forget(v *service) {
	if s.services[v.name] == v {
		delete(s.services, v.name)
		if v.log != nil {
			s.loggers--
		}
	}
	v.closePipe()
	if s.stopping {
		s.unhold(v)
		s.checkStopped()
		return
	}
	s.released[v.name] = time.Now()
	s.after(readopt, s.scan)
}

func (v *service) closePipe() {
	target := v
	if v.log != nil {
		target = v.log
	}
	for _, f := range []*os.File{target.pipeIn, target.pipeOut} {
		if f != nil {
			f.Close()
		}
	}
	target.pipeIn, target.pipeOut = nil, nil
}
