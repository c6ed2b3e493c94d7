package supervisord

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/svinit/svinit/internal/httpmini"

	"github.com/svinit/svinit/internal/errstr"
	"github.com/svinit/svinit/supervisor/svdir"

	"golang.org/x/sys/unix"
)

// Process states, supervisord's numbers (supervisor/states.py).
const (
	Stopped  = 0
	Starting = 10
	Running  = 20
	Backoff  = 30
	Stopping = 40
	Exited   = 100
	Fatal    = 200
	Unknown  = 1000
)

var stateNames = map[int]string{Stopped: "STOPPED", Starting: "STARTING", Running: "RUNNING",
	Backoff: "BACKOFF", Stopping: "STOPPING", Exited: "EXITED", Fatal: "FATAL", Unknown: "UNKNOWN"}

// StateName is supervisord's name for a state code.
func StateName(code int) string { return stateNames[code] }

// APIVersion is the version of supervisor's RPC interface supervisorctl
// checks (rpcinterface.API_VERSION).
const APIVersion = "3.0"

// Version is what getSupervisorVersion answers: the supervisord whose
// interface svinit speaks.
const Version = "4.2.5"

const tooQuickly = "Exited too quickly (process log may have details)"

// Server answers supervisord's XML-RPC methods for the processes of a
// Config whose service directories are in Dir.
type Server struct {
	Config   *Config
	Dir      string
	Shutdown func() // supervisor.shutdown: stop svinit (nil: refused)

	mu      sync.Mutex
	stopped map[string]time.Time // stopProcess asked at that time: STOPPED, not EXITED
	procs   map[string]*Process  // by namespec
}

func (s *Server) init() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.procs != nil {
		return
	}
	s.procs = map[string]*Process{}
	s.stopped = map[string]time.Time{}
	for _, p := range s.Config.Processes {
		s.procs[p.Namespec()] = p
	}
}

// Listen makes the [unix_http_server] socket (chmod, chown) and serves
// on it until the listener is closed. Another live server on the socket
// is an error, a stale socket file is removed (as supervisord does).
func (s *Server) Listen() (net.Listener, error) {
	sock := s.Config.Socket
	if sock == nil {
		return nil, errors.New("no [unix_http_server] section")
	}
	if c, err := net.Dial("unix", sock.Path); err == nil {
		c.Close()
		return nil, fmt.Errorf("unable to listen on %s: another program is already listening on it", sock.Path)
	}
	_ = os.Remove(sock.Path)
	l, err := net.Listen("unix", sock.Path)
	if err != nil {
		return nil, errstr.Unable("listen on", sock.Path, err)
	}
	if err := os.Chmod(sock.Path, sock.Mode); err != nil {
		l.Close()
		return nil, errstr.Unable("chmod", sock.Path, err)
	}
	if sock.Chown != "" {
		uid, gid, err := chownIDs(sock.Chown)
		if err == nil {
			err = os.Chown(sock.Path, uid, gid)
		}
		if err != nil {
			l.Close()
			return nil, errstr.Unable("chown", sock.Path, err)
		}
	}
	return l, nil
}

// chownIDs reads supervisord's chown value: user or user:group.
func chownIDs(v string) (int, int, error) {
	name, group, _ := strings.Cut(v, ":")
	u, err := lookupUser(name)
	if err != nil {
		return 0, 0, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			if n, err2 := strconv.Atoi(group); err2 == nil {
				return uid, n, nil
			}
			return 0, 0, fmt.Errorf("invalid group name %s", group)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return uid, gid, nil
}

// Serve serves HTTP on l: XML-RPC on POST (supervisorctl posts to /RPC2),
// /logtail/NAME[/stderr] for tail -f. HTTP is internal/httpmini's: a
// request head of 8 KiB at most, a body of 1 MiB, keep-alive as the client
// asks.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go s.serveConn(c)
	}
}

// serveConn answers the requests of one connection.
func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	rd := httpmini.NewReader(c)
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Minute))
		req, code := rd.Read(8<<10, 1<<20)
		if code == 0 {
			return
		}
		_ = c.SetReadDeadline(time.Time{})
		proto := "HTTP/1.1"
		if req != nil && req.Proto == "HTTP/1.0" {
			proto = "HTTP/1.0"
		}
		if code != 200 {
			_ = httpmini.WriteResponse(c, proto, code, "text/plain", []byte(httpmini.Reason(code)+"\n"), false)
			return
		}
		if !s.answer(c, proto, req) || !req.KeepAlive() {
			return
		}
	}
}

// answer answers one request; false when the connection is done.
func (s *Server) answer(c net.Conn, proto string, req *httpmini.Request) bool {
	keep := req.KeepAlive()
	if !s.authorized(req) {
		_ = httpmini.WriteResponse(c, proto, 401, "text/plain", []byte("Unauthorized\n"), keep, `WWW-Authenticate: Basic realm="default"`)
		return keep
	}
	path, _, _ := strings.Cut(req.Target, "?")
	if req.Method == "GET" && strings.HasPrefix(path, "/logtail/") {
		s.logtail(c, proto, path)
		return false
	}
	if req.Method != "POST" {
		_ = httpmini.WriteResponse(c, proto, 404, "text/plain", []byte("svinit serves supervisorctl's XML-RPC here; there is no web UI\n"), keep)
		return keep
	}
	method, params, err := decodeCall(bytes.NewReader(req.Body))
	var body string
	if err != nil {
		body = encodeFault(&Fault{Code: faultIncorrectParameters, String: "INCORRECT_PARAMETERS: " + err.Error()})
	} else if v, f := s.Call(method, params); f != nil {
		body = encodeFault(f)
	} else {
		body = encodeResponse(v)
	}
	return httpmini.WriteResponse(c, proto, 200, "text/xml", []byte(body), keep) == nil
}

// authorized is supervisord's check: without a username anyone who can
// open the socket; else HTTP basic auth, the password plain or {SHA}hex.
func (s *Server) authorized(r *httpmini.Request) bool {
	sock := s.Config.Socket
	if sock == nil || sock.Username == "" {
		return true
	}
	scheme, cred, _ := strings.Cut(r.Header["authorization"], " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if !strings.EqualFold(scheme, "Basic") || err != nil {
		return false
	}
	u, p, ok := strings.Cut(string(raw), ":")
	if !ok || u != sock.Username {
		return false
	}
	want := sock.Password
	if strings.HasPrefix(want, "{SHA}") {
		sum := sha1.Sum([]byte(p))
		p, want = hex.EncodeToString(sum[:]), strings.ToLower(strings.TrimPrefix(want, "{SHA}"))
	}
	return subtle.ConstantTimeCompare([]byte(p), []byte(want)) == 1
}

// logtail streams a program's log file (supervisorctl tail -f): its last
// KiB, then what is written to it, until the client goes away.
func (s *Server) logtail(c net.Conn, proto, path string) {
	rest := strings.TrimPrefix(path, "/logtail/")
	name, channel, _ := strings.Cut(rest, "/")
	p := s.procs[name]
	if p == nil {
		_ = httpmini.WriteResponse(c, proto, 404, "text/plain", []byte("Not Found\n"), false)
		return
	}
	file := p.Stdout.Path
	if channel == "stderr" {
		file = p.Stderr.Path
	}
	f, err := os.Open(file)
	if err != nil || !strings.HasPrefix(file, "/") || strings.HasPrefix(file, "/dev/") {
		_ = httpmini.WriteResponse(c, proto, 410, "text/plain", []byte("No file for "+name+"\n"), false)
		return
	}
	defer f.Close()
	if _, err := io.WriteString(c, proto+" 200 OK\r\nContent-Type: text/plain;charset=utf-8\r\nConnection: close\r\n\r\n"); err != nil {
		return
	}
	if st, err := f.Stat(); err == nil && st.Size() > 1024 {
		_, _ = f.Seek(-1024, io.SeekEnd)
	}
	gone := make(chan struct{})
	go func() { // the client closing its end ends the stream
		_, _ = io.Copy(io.Discard, c)
		close(gone)
	}()
	buf := make([]byte, 32<<10)
	for {
		n, _ := f.Read(buf)
		if n > 0 {
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
			continue
		}
		select {
		case <-gone:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Call runs one XML-RPC method.
func (s *Server) Call(method string, params []any) (v any, f *Fault) {
	s.init()
	defer func() {
		if r := recover(); r != nil { // a malformed request never takes PID 1 down
			v, f = nil, rpcError(faultFailed, fmt.Sprint(r))
		}
	}()
	str := func(i int) (string, *Fault) {
		if i >= len(params) {
			return "", rpcError(faultIncorrectParameters, "")
		}
		x, ok := params[i].(string)
		if !ok {
			return "", rpcError(faultIncorrectParameters, "")
		}
		return x, nil
	}
	num := func(i int) (int, *Fault) {
		if i >= len(params) {
			return 0, rpcError(faultIncorrectParameters, "")
		}
		x, ok := params[i].(int)
		if !ok {
			return 0, rpcError(faultIncorrectParameters, "")
		}
		return x, nil
	}
	wait := func(i int) bool {
		if i < len(params) {
			if b, ok := params[i].(bool); ok {
				return b
			}
		}
		return true
	}
	switch method {
	case "supervisor.getAPIVersion", "supervisor.getVersion":
		return APIVersion, nil
	case "supervisor.getSupervisorVersion":
		return Version, nil
	case "supervisor.getIdentification":
		return s.Config.Identifier, nil
	case "supervisor.getState":
		return map[string]any{"statecode": 1, "statename": "RUNNING"}, nil
	case "supervisor.getPID":
		return os.Getpid(), nil
	case "supervisor.readLog", "supervisor.readMainLog":
		return nil, rpcError(faultNoFile, "svinit logs to its stderr: there is no supervisord log file")
	case "supervisor.clearLog":
		return nil, rpcError(faultNoFile, "svinit logs to its stderr")
	case "supervisor.shutdown":
		if s.Shutdown == nil {
			return nil, rpcError(faultFailed, "shutdown is not available")
		}
		s.Shutdown()
		return true, nil
	case "supervisor.restart", "supervisor.reloadConfig", "supervisor.addProcessGroup", "supervisor.removeProcessGroup":
		return nil, rpcError(faultCantReread, "svinit reads the configuration once, at start: restart the container to change it")
	case "supervisor.getAllConfigInfo":
		var out []any
		for _, g := range s.Config.Groups {
			for _, p := range g.Processes {
				out = append(out, map[string]any{"name": p.Name, "group": g.Name, "inuse": true,
					"autostart": p.Autostart, "group_prio": g.Priority, "process_prio": p.Priority,
					"command": p.Command})
			}
		}
		return out, nil
	case "supervisor.getProcessInfo":
		name, f := str(0)
		if f != nil {
			return nil, f
		}
		ps, f := s.lookup(name)
		if f != nil {
			return nil, f
		}
		if len(ps) != 1 {
			return nil, rpcError(faultBadName, name)
		}
		return s.info(ps[0]), nil
	case "supervisor.getAllProcessInfo":
		out := make([]any, 0, len(s.Config.Processes))
		for _, p := range lexical(s.Config.Processes) {
			out = append(out, s.info(p))
		}
		return out, nil
	case "supervisor.startProcess":
		return s.onProcess(str, wait(1), s.start, s.startAll)
	case "supervisor.startProcessGroup":
		return s.onGroup(str, wait(1), s.startAll)
	case "supervisor.startAllProcesses":
		return s.startAll(s.Config.Processes, wait(0))
	case "supervisor.stopProcess":
		return s.onProcess(str, wait(1), s.stop, s.stopAll)
	case "supervisor.stopProcessGroup":
		return s.onGroup(str, wait(1), s.stopAll)
	case "supervisor.stopAllProcesses":
		return s.stopAll(s.Config.Processes, wait(0))
	case "supervisor.signalProcess":
		name, f := str(0)
		if f != nil {
			return nil, f
		}
		if len(params) < 2 {
			return nil, rpcError(faultIncorrectParameters, "")
		}
		sig := fmt.Sprint(params[1])
		ps, f := s.lookup(name)
		if f != nil {
			return nil, f
		}
		if f := s.signal(ps[0], sig); f != nil {
			return nil, f
		}
		return true, nil
	case "supervisor.readProcessStdoutLog", "supervisor.readProcessStderrLog", "supervisor.readProcessLog":
		path, off, n, f := s.logArgs(str, num, method == "supervisor.readProcessStderrLog")
		if f != nil {
			return nil, f
		}
		return readFile(path, off, n)
	case "supervisor.tailProcessStdoutLog", "supervisor.tailProcessStderrLog", "supervisor.tailProcessLog":
		path, off, n, f := s.logArgs(str, num, method == "supervisor.tailProcessStderrLog")
		if f != nil {
			return nil, f
		}
		return tailFile(path, off, n), nil
	case "system.listMethods":
		return []string{"supervisor.getAPIVersion", "supervisor.getVersion", "supervisor.getSupervisorVersion",
			"supervisor.getIdentification", "supervisor.getState", "supervisor.getPID", "supervisor.shutdown",
			"supervisor.getAllConfigInfo", "supervisor.getProcessInfo", "supervisor.getAllProcessInfo",
			"supervisor.startProcess", "supervisor.startProcessGroup", "supervisor.startAllProcesses",
			"supervisor.stopProcess", "supervisor.stopProcessGroup", "supervisor.stopAllProcesses",
			"supervisor.signalProcess", "supervisor.readProcessStdoutLog", "supervisor.readProcessStderrLog",
			"supervisor.tailProcessStdoutLog", "supervisor.tailProcessStderrLog",
			"system.listMethods", "system.multicall"}, nil
	case "system.multicall":
		if len(params) != 1 {
			return nil, rpcError(faultIncorrectParameters, "")
		}
		calls, ok := params[0].([]any)
		if !ok {
			return nil, rpcError(faultIncorrectParameters, "")
		}
		out := make([]any, 0, len(calls))
		for _, c := range calls {
			m, _ := c.(map[string]any)
			name, _ := m["methodName"].(string)
			ps, _ := m["params"].([]any)
			if name == "system.multicall" {
				out = append(out, map[string]any{"faultCode": faultIncorrectParameters, "faultString": "INCORRECT_PARAMETERS: recursive multicall"})
				continue
			}
			v, f := s.Call(name, ps)
			if f != nil {
				out = append(out, map[string]any{"faultCode": f.Code, "faultString": f.String})
			} else {
				out = append(out, []any{v})
			}
		}
		return out, nil
	}
	return nil, rpcError(faultUnknownMethod, "")
}

// lexical is getAllProcessInfo's order: by group name, then process name.
func lexical(ps []*Process) []*Process {
	out := append([]*Process(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// isHeteroGroup: name is a [group:x] and not also a process name.
func (s *Server) isHeteroGroup(name string) bool {
	if _, ok := s.procs[name]; ok {
		return false
	}
	return s.groupProcs(name) != nil
}

// onProcess is start/stopProcess: NAME, GROUP:NAME, GROUP:* or a group's
// name (a heterogeneous group) — one process, or all of the group's.
func (s *Server) onProcess(str func(int) (string, *Fault), wait bool, one func(*Process, bool) *Fault,
	all func([]*Process, bool) ([]any, *Fault)) (any, *Fault) {
	name, f := str(0)
	if f != nil {
		return nil, f
	}
	if g, p, _ := strings.Cut(name, ":"); p == "*" || (!strings.Contains(name, ":") && s.isHeteroGroup(name)) {
		return all(s.groupProcs(g), wait)
	}
	ps, f := s.lookup(name)
	if f != nil {
		return nil, f
	}
	if f := one(ps[0], wait); f != nil {
		return nil, f
	}
	return true, nil
}

// logArgs reads the (name, offset, length) of the read/tail log methods
// and finds the program's log file.
func (s *Server) logArgs(str func(int) (string, *Fault), num func(int) (int, *Fault), stderr bool) (string, int, int, *Fault) {
	name, f := str(0)
	if f != nil {
		return "", 0, 0, f
	}
	off, f := num(1)
	if f != nil {
		return "", 0, 0, f
	}
	n, f := num(2)
	if f != nil {
		return "", 0, 0, f
	}
	path, f := s.logPath(name, stderr)
	return path, off, n, f
}

// onGroup is start/stopProcessGroup.
func (s *Server) onGroup(str func(int) (string, *Fault), wait bool, all func([]*Process, bool) ([]any, *Fault)) (any, *Fault) {
	name, f := str(0)
	if f != nil {
		return nil, f
	}
	ps := s.groupProcs(name)
	if ps == nil {
		return nil, rpcError(faultBadName, name)
	}
	return all(ps, wait)
}

func (s *Server) groupProcs(group string) []*Process {
	for _, g := range s.Config.Groups {
		if g.Name == group {
			return g.Processes
		}
	}
	return nil
}

// lookup is supervisord's _getGroupAndProcess: "name" (group and process
// both name), "group:name", "group:*" (the whole group).
func (s *Server) lookup(spec string) ([]*Process, *Fault) {
	group, name, ok := strings.Cut(spec, ":")
	if !ok {
		name = group
	}
	ps := s.groupProcs(group)
	if ps == nil {
		return nil, rpcError(faultBadName, spec)
	}
	if name == "*" {
		return ps, nil
	}
	for _, p := range ps {
		if p.Name == name {
			return []*Process{p}, nil
		}
	}
	return nil, rpcError(faultBadName, spec)
}

func (s *Server) dir(p *Process) string { return filepath.Join(s.Dir, p.Namespec()) }

// State is a process's supervisord state read from its supervise/
// directory, with the times getProcessInfo reports.
type State struct {
	Code        int
	Pid         int
	Start, Stop int64
	ExitStatus  int
	SpawnErr    string
	since       time.Time // when supervise/status last changed, to the nanosecond
}

// State reads p's state.
func (s *Server) State(p *Process) State {
	s.init()
	dir := s.dir(p)
	st, err := svdir.ReadStatus(dir, true)
	if err != nil {
		return State{Code: Unknown}
	}
	in, _ := svdir.ReadInfo(dir)
	out := State{Start: in.LastStart, since: st.When}
	if c, ok := strings.CutPrefix(in.LastExit, "exit "); ok {
		out.ExitStatus, _ = strconv.Atoi(c)
	}
	switch {
	case st.State == svdir.StateRun:
		out.Pid = st.Pid
		out.Start = st.When.Unix()
		switch {
		case st.GotTerm || st.Want == 'd':
			out.Code = Stopping
		case time.Since(st.When) < time.Duration(p.StartSecs)*time.Second:
			out.Code = Starting
		default:
			out.Code = Running
		}
		return out
	case in.State == "backoff":
		out.Code, out.SpawnErr = Backoff, tooQuickly
		return out
	case in.State == "wait":
		out.Code = Starting
		return out
	case st.State == svdir.StateFinish && st.Want == 'u':
		out.Code = Starting
		return out
	}
	if out.Start != 0 {
		out.Stop = st.When.Unix()
	}
	s.mu.Lock()
	stoppedAt, asked := s.stopped[p.Namespec()]
	s.mu.Unlock()
	switch {
	case strings.Contains(in.LastError, "failed starts in a row"):
		out.Code, out.SpawnErr = Fatal, tooQuickly
	case out.Start == 0:
		out.Code = Stopped
	case asked && stoppedAt.Unix() >= out.Start:
		out.Code = Stopped
	default:
		out.Code = Exited
	}
	return out
}

// Description is supervisord's description of a state
// (rpcinterface._interpretProcessInfo).
func Description(st State, now time.Time) string {
	switch st.Code {
	case Running:
		up := now.Unix() - st.Start
		if up < 0 {
			up = 0
		}
		return fmt.Sprintf("pid %d, uptime %s", st.Pid, uptime(up))
	case Fatal, Backoff:
		if st.SpawnErr == "" {
			return "unknown error"
		}
		return st.SpawnErr
	case Stopped, Exited:
		if st.Start == 0 {
			return "Not started"
		}
		return time.Unix(st.Stop, 0).Format("Jan 02 03:04 PM")
	}
	return ""
}

// uptime is Python's str(timedelta): "0:01:02", "2 days, 3:04:05".
func uptime(sec int64) string {
	days := sec / 86400
	sec %= 86400
	t := fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	switch {
	case days == 1:
		return "1 day, " + t
	case days > 1:
		return fmt.Sprintf("%d days, %s", days, t)
	}
	return t
}

func (s *Server) info(p *Process) map[string]any {
	st := s.State(p)
	now := time.Now()
	return map[string]any{
		"name": p.Name, "group": p.Group, "description": Description(st, now),
		"start": int(st.Start), "stop": int(st.Stop), "now": int(now.Unix()),
		"state": st.Code, "statename": StateName(st.Code), "spawnerr": st.SpawnErr,
		"exitstatus": st.ExitStatus, "logfile": p.Stdout.Path, "stdout_logfile": p.Stdout.Path,
		"stderr_logfile": p.Stderr.Path, "pid": st.Pid,
	}
}

func running(code int) bool { return code == Running || code == Backoff || code == Starting }

// start is startProcess: u, then (wait) until RUNNING, or a fault if it
// failed to start.
func (s *Server) start(p *Process, wait bool) *Fault {
	before := s.State(p)
	if running(before.Code) {
		return rpcError(faultAlreadyStarted, p.Namespec())
	}
	asked := time.Now()
	if err := svdir.Control(s.dir(p), []byte("u")); err != nil {
		return rpcError(faultFailed, p.Namespec()+": "+errstr.Text(err))
	}
	if !wait {
		return nil
	}
	deadline := asked.Add(time.Duration(p.StartSecs)*time.Second + 30*time.Second)
	for time.Now().Before(deadline) {
		st := s.State(p)
		switch {
		case st.Code == Running:
			return nil
		case st.Code == Backoff || st.Code == Fatal:
			return rpcError(faultSpawnError, p.Namespec())
		case st.Code == Starting:
		case st.Start >= asked.Unix() && st.since.After(asked):
			// started since, and down again: status changed after the ask
			// (its stamp, not svinit.json's seconds: the stop before a
			// restart is in the same second)
			return rpcError(faultAbnormal, p.Namespec())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return rpcError(faultAbnormal, p.Namespec())
}

// stop is stopProcess: d, then (wait) until it is down.
func (s *Server) stop(p *Process, wait bool) *Fault {
	if !running(s.State(p).Code) {
		return rpcError(faultNotRunning, p.Namespec())
	}
	s.mu.Lock()
	s.stopped[p.Namespec()] = time.Now()
	s.mu.Unlock()
	if err := svdir.Control(s.dir(p), []byte("d")); err != nil {
		return rpcError(faultFailed, p.Namespec()+": "+errstr.Text(err))
	}
	if !wait {
		return nil
	}
	deadline := time.Now().Add(time.Duration(p.StopWaitSecs)*time.Second + 30*time.Second)
	for time.Now().Before(deadline) {
		if st := s.State(p); st.Code != Stopping && !running(st.Code) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return rpcError(faultFailed, p.Namespec()+": still running")
}

// result is one element of the array the *All and *Group methods return.
func result(p *Process, f *Fault) map[string]any {
	if f == nil {
		f = &Fault{Code: faultSuccess, String: "OK"}
	}
	return map[string]any{"name": p.Name, "group": p.Group, "status": f.Code, "description": f.String}
}

// startAll starts every process of ps that is not running, all at once,
// and reports each (supervisord's make_allfunc).
func (s *Server) startAll(ps []*Process, wait bool) ([]any, *Fault) {
	return s.each(ps, func(p *Process) (bool, *Fault) {
		if running(s.State(p).Code) {
			return false, nil
		}
		return true, s.start(p, wait)
	})
}

func (s *Server) stopAll(ps []*Process, wait bool) ([]any, *Fault) {
	return s.each(ps, func(p *Process) (bool, *Fault) {
		if !running(s.State(p).Code) {
			return false, nil
		}
		return true, s.stop(p, wait)
	})
}

func (s *Server) each(ps []*Process, do func(*Process) (bool, *Fault)) ([]any, *Fault) {
	type res struct {
		did  bool
		f    *Fault
		done bool
	}
	var mu sync.Mutex
	rs := make([]res, len(ps))
	for i, p := range ps {
		go func() {
			did, f := do(p)
			mu.Lock()
			rs[i] = res{did: did, f: f, done: true}
			mu.Unlock()
		}()
	}
	// As supervisord's make_allfunc: every 50 ms, the calls that finished,
	// in list order; the result is in the order they finished.
	out := []any{}
	reported := make([]bool, len(ps))
	for left := len(ps); left > 0; {
		mu.Lock()
		for i, p := range ps {
			if rs[i].done && !reported[i] {
				reported[i] = true
				left--
				if rs[i].did {
					out = append(out, result(p, rs[i].f))
				}
			}
		}
		mu.Unlock()
		if left > 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return out, nil
}

// signals svinit's control bytes can send.
var signalBytes = map[string]byte{"HUP": 'h', "ALRM": 'a', "INT": 'i', "QUIT": 'q', "USR1": '1',
	"USR2": '2', "TERM": 't', "KILL": 'k', "STOP": 'p', "CONT": 'c'}

func (s *Server) signal(p *Process, sig string) *Fault {
	name, err := signalName(sig)
	if err != nil {
		return rpcError(faultBadSignal, sig)
	}
	if n, err := strconv.Atoi(name); err == nil {
		name = strings.TrimPrefix(unix.SignalName(unix.Signal(n)), "SIG")
	}
	b, ok := signalBytes[name]
	if !ok {
		return rpcError(faultBadSignal, sig+" (svinit sends only HUP ALRM INT QUIT USR1 USR2 TERM KILL STOP CONT)")
	}
	st := s.State(p)
	if st.Code != Running && st.Code != Starting && st.Code != Stopping {
		return rpcError(faultNotRunning, p.Namespec())
	}
	if err := svdir.Control(s.dir(p), []byte{b}); err != nil {
		return rpcError(faultFailed, p.Namespec()+": "+errstr.Text(err))
	}
	return nil
}

func (s *Server) logPath(name string, stderr bool) (string, *Fault) {
	ps, f := s.lookup(name)
	if f != nil {
		return "", f
	}
	if len(ps) != 1 {
		return "", rpcError(faultBadName, name)
	}
	path := ps[0].Stdout.Path
	if stderr {
		path = ps[0].Stderr.Path
	}
	if path == "" || strings.HasPrefix(path, "/dev/") || strings.HasPrefix(path, "/proc/") {
		return "", rpcError(faultNoFile, path)
	}
	if _, err := os.Stat(path); err != nil {
		return "", rpcError(faultNoFile, path)
	}
	return path, nil
}

// readFile is supervisord's options.readFile.
func readFile(path string, offset, length int) (string, *Fault) {
	f, err := os.Open(path)
	if err != nil {
		return "", rpcError(faultFailed, "")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", rpcError(faultFailed, "")
	}
	sz := st.Size()
	var start, n int64
	if offset < 0 {
		if length != 0 {
			return "", rpcError(faultBadArguments, "")
		}
		start, n = sz+int64(offset), int64(-offset)
		if start < 0 {
			start = 0
		}
	} else {
		if length < 0 {
			return "", rpcError(faultBadArguments, "")
		}
		start, n = int64(offset), int64(length)
		if n == 0 {
			n = sz - start
		}
	}
	if n > 1<<24 {
		n = 1 << 24
	}
	if n < 0 || start >= sz {
		return "", nil
	}
	buf := make([]byte, n)
	m, _ := f.ReadAt(buf, start)
	return string(buf[:m]), nil
}

// tailFile is supervisord's tailFile: [data, new offset, overflow].
func tailFile(path string, offset, length int) []any {
	f, err := os.Open(path)
	if err != nil {
		return []any{"", offset, false}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return []any{"", offset, false}
	}
	sz := st.Size()
	off, n := int64(offset), int64(length)
	overflow := false
	if sz > off+n {
		overflow = true
		off = sz - 1
	}
	if off+n > sz {
		if off > sz-1 {
			n = 0
		}
		off = sz - n
	}
	if off < 0 {
		off = 0
	}
	if n < 0 {
		n = 0
	}
	if n > 1<<24 {
		n = 1 << 24
	}
	buf := make([]byte, n)
	m, _ := f.ReadAt(buf, off)
	return []any{string(buf[:m]), int(sz), overflow}
}
