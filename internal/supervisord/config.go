package supervisord

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Config is a supervisord.conf as svinit runs it.
type Config struct {
	File        string     // the main file, absolute
	Groups      []*Group   // by priority, then name (supervisord's start order)
	Processes   []*Process // every process, in start order
	Socket      *Socket    // [unix_http_server]; nil without one
	Env         [][2]string
	ChildLogDir string
	PidFile     string
	Umask       int // [supervisord] umask (022)
	Directory   string
	Identifier  string
	Warnings    []string // "file:line: ..." for what svinit does not do

	// [supervisorctl]: what the client uses
	CtlServerURL, CtlUsername, CtlPassword string
}

// Socket is [unix_http_server].
type Socket struct {
	Path     string
	Mode     os.FileMode // chmod (0700)
	Chown    string      // user[:group], "" to leave it
	Username string
	Password string // as written: plain, or {SHA}hex
}

// Group is a process group: a [program] (its own group) or a [group].
type Group struct {
	Name      string
	Priority  int
	Processes []*Process
}

// LogSpec is where a process's stdout or stderr goes.
type LogSpec struct {
	Path     string // a file, "/dev/stdout" ..., or "" (NONE: discarded)
	MaxBytes int64
	Backups  int
}

// Process is one process of a program (numprocs makes several).
type Process struct {
	Name      string // process_name, expanded
	Group     string
	Program   string
	Command   string
	Argv      []string
	Directory string
	Umask     int // -1: supervisord's
	User      string
	Env       [][2]string

	Priority       int
	Autostart      bool
	Autorestart    string // true, false, unexpected
	ExitCodes      []int
	StartSecs      int
	StartRetries   int
	StopSignal     string
	StopWaitSecs   int
	StopAsGroup    bool
	KillAsGroup    bool
	RedirectStderr bool
	Stdout, Stderr LogSpec
	ServerURL      string
}

// Namespec is supervisorctl's name for p: "name" when the group has the
// process's name, else "group:name".
func (p *Process) Namespec() string { return namespec(p.Group, p.Name) }

func namespec(group, name string) string {
	if group == name {
		return name
	}
	return group + ":" + name
}

// DefaultPaths are where supervisord looks without -c, in its order.
var DefaultPaths = []string{"supervisord.conf", "etc/supervisord.conf", "/etc/supervisord.conf", "/etc/supervisor/supervisord.conf"}

// Find is supervisord's search without -c: the first of DefaultPaths that
// exists ("" if none).
func Find() string {
	for _, p := range DefaultPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// programKeys are the [program:x] keys and whether svinit carries them out;
// the others get a warning naming the key.
var programKeys = map[string]bool{
	"command": true, "process_name": true, "numprocs": true, "numprocs_start": true,
	"priority": true, "autostart": true, "autorestart": true, "startsecs": true,
	"startretries": true, "exitcodes": true, "stopsignal": true, "stopwaitsecs": true,
	"stopasgroup": true, "killasgroup": true, "user": true, "redirect_stderr": true,
	"stdout_logfile": true, "stdout_logfile_maxbytes": true, "stdout_logfile_backups": true,
	"stderr_logfile": true, "stderr_logfile_maxbytes": true, "stderr_logfile_backups": true,
	"environment": true, "directory": true, "umask": true, "serverurl": true,
	// known to supervisord, not done by svinit
	"stdout_capture_maxbytes": false, "stderr_capture_maxbytes": false,
	"stdout_events_enabled": false, "stderr_events_enabled": false,
	"stdout_syslog": false, "stderr_syslog": false,
}

// supervisordKeys are [supervisord]'s keys svinit carries out; the known
// others are warned about.
var supervisordKeys = map[string]bool{
	"environment": true, "childlogdir": true, "pidfile": true, "umask": true,
	"directory": true, "identifier": true, "nodaemon": true,
	"logfile": false, "logfile_maxbytes": false, "logfile_backups": false, "loglevel": false,
	"minfds": false, "minprocs": false, "nocleanup": false, "strip_ansi": false,
	"silent": false, "user": false,
}

// Load reads a supervisord.conf (and its includes). A bad file is an error
// naming the file and line; what svinit does not do is a warning in
// Config.Warnings.
func Load(path string) (*Config, error) {
	secs, err := readINI(path)
	if err != nil {
		return nil, err
	}
	c := &Config{File: abs(path), ChildLogDir: os.TempDir(), Umask: 0o22, Identifier: "supervisor"}
	warn := func(file string, line int, f string, a ...any) {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s:%d: ", file, line)+fmt.Sprintf(f, a...))
	}
	hereVars := func(s *section) map[string]string {
		return map[string]string{"here": filepath.Dir(abs(s.file))}
	}
	var programs []*section
	var groups []*section
	for _, s := range secs {
		kind, name, _ := strings.Cut(s.name, ":")
		switch {
		case s.name == "supervisord":
			if err := c.readSupervisord(s, hereVars(s), warn); err != nil {
				return nil, err
			}
		case s.name == "unix_http_server":
			if err := c.readSocket(s, hereVars(s), warn); err != nil {
				return nil, err
			}
		case s.name == "supervisorctl":
			vars := hereVars(s)
			for _, e := range s.entries {
				v, err := expand(e.value, vars, true)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %s: %v", e.file, e.line, e.key, err)
				}
				switch e.key {
				case "serverurl":
					c.CtlServerURL = v
				case "username":
					c.CtlUsername = v
				case "password":
					c.CtlPassword = v
				}
			}
		case s.name == "rpcinterface:supervisor":
			// supervisor's own RPC interface, which svinit serves
		case kind == "program" && name != "":
			programs = append(programs, s)
		case kind == "group" && name != "":
			groups = append(groups, s)
		case s.name == "inet_http_server":
			warn(s.file, s.line, "[%s] is not supported (svinit serves supervisorctl on the [unix_http_server] socket only; no web UI, no TCP): ignored", s.name)
		case kind == "eventlistener":
			warn(s.file, s.line, "[%s] is not supported (svinit has no event listeners): ignored", s.name)
		case kind == "fcgi-program":
			warn(s.file, s.line, "[%s] is not supported (svinit has no FastCGI sockets): ignored", s.name)
		case kind == "rpcinterface":
			warn(s.file, s.line, "[%s] is not supported (svinit serves only supervisor's own RPC interface): ignored", s.name)
		default:
			warn(s.file, s.line, "[%s] is not a section supervisord knows: ignored", s.name)
		}
	}
	byProgram := map[string][]*Process{}
	programOrder := []string{}
	for _, s := range programs {
		name := strings.TrimPrefix(s.name, "program:")
		ps, err := c.readProgram(s, name, warn)
		if err != nil {
			return nil, err
		}
		byProgram[name] = ps
		programOrder = append(programOrder, name)
	}
	inGroup := map[string]string{}
	for _, s := range groups {
		gname := strings.TrimPrefix(s.name, "group:")
		g := &Group{Name: gname, Priority: 999}
		vars := hereVars(s)
		for _, e := range s.entries {
			v, err := expand(e.value, vars, true)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %v", e.file, e.line, e.key, err)
			}
			switch e.key {
			case "programs":
				for _, pn := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
					ps, ok := byProgram[pn]
					if !ok {
						return nil, fmt.Errorf("%s:%d: [%s] names program %q, which has no [program:%s] section", e.file, e.line, s.name, pn, pn)
					}
					if other, ok := inGroup[pn]; ok {
						return nil, fmt.Errorf("%s:%d: program %q is already in [group:%s]", e.file, e.line, pn, other)
					}
					inGroup[pn] = gname
					for _, p := range ps {
						p.Group = gname
						g.Processes = append(g.Processes, p)
					}
				}
			case "priority":
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: priority: not a number: %q", e.file, e.line, v)
				}
				g.Priority = n
			default:
				warn(e.file, e.line, "[%s] has no key %q: ignored", s.name, e.key)
			}
		}
		if _, ok := s.get("programs"); !ok {
			return nil, fmt.Errorf("%s:%d: [%s] must define \"programs\"", s.file, s.line, s.name)
		}
		c.Groups = append(c.Groups, g)
	}
	for _, pn := range programOrder {
		if _, ok := inGroup[pn]; ok {
			continue
		}
		ps := byProgram[pn]
		c.Groups = append(c.Groups, &Group{Name: pn, Priority: ps[0].Priority, Processes: ps})
	}
	sort.SliceStable(c.Groups, func(i, j int) bool {
		if c.Groups[i].Priority != c.Groups[j].Priority {
			return c.Groups[i].Priority < c.Groups[j].Priority
		}
		return c.Groups[i].Name < c.Groups[j].Name
	})
	names := map[string]bool{}
	for _, g := range c.Groups {
		sort.SliceStable(g.Processes, func(i, j int) bool {
			if g.Processes[i].Priority != g.Processes[j].Priority {
				return g.Processes[i].Priority < g.Processes[j].Priority
			}
			return g.Processes[i].Name < g.Processes[j].Name
		})
		for _, p := range g.Processes {
			if names[p.Namespec()] {
				return nil, fmt.Errorf("%s: two processes are named %s", c.File, p.Namespec())
			}
			names[p.Namespec()] = true
			c.Processes = append(c.Processes, p)
		}
	}
	return c, nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean (true or false): %q", v)
}

// parseBytes is supervisord's byte_size: a number with KB, MB or GB.
func parseBytes(v string) (int64, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	mult := int64(1)
	for suf, m := range map[string]int64{"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30} {
		if strings.HasSuffix(s, suf) {
			s, mult = strings.TrimSuffix(s, suf), m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("not a byte size (50MB, 1024, ...): %q", v)
	}
	return n * mult, nil
}

func parseOctal(v string) (int, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("not an octal mode: %q", v)
	}
	return int(n), nil
}

// signalName checks a stopsignal as supervisord does (a number or a name
// with or without SIG) and returns it as svinit's down-signal file says it.
func signalName(v string) (string, error) {
	s := strings.TrimSpace(v)
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 64 {
		return s, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if unix.SignalNum(name) == 0 {
		return "", fmt.Errorf("not a signal name or number: %q", v)
	}
	return strings.TrimPrefix(name, "SIG"), nil
}

func (c *Config) readSupervisord(s *section, vars map[string]string, warn func(string, int, string, ...any)) error {
	for _, e := range s.entries {
		v, err := expand(e.value, vars, true)
		if err != nil {
			return fmt.Errorf("%s:%d: %s: %v", e.file, e.line, e.key, err)
		}
		bad := func(err error) error { return fmt.Errorf("%s:%d: %s: %v", e.file, e.line, e.key, err) }
		switch e.key {
		case "environment":
			if c.Env, err = parseEnvironment(v); err != nil {
				return bad(err)
			}
		case "childlogdir":
			c.ChildLogDir = v
		case "pidfile":
			c.PidFile = v
		case "umask":
			if c.Umask, err = parseOctal(v); err != nil {
				return bad(err)
			}
		case "directory":
			c.Directory = v
		case "identifier":
			c.Identifier = v
		case "nodaemon":
			// svinit never daemonizes: it is nodaemon=true whatever the file says
			if _, err := parseBool(v); err != nil {
				return bad(err)
			}
		default:
			if _, known := supervisordKeys[e.key]; known {
				warn(e.file, e.line, "[supervisord] %s is not supported by svinit (it logs to its stderr and does not change its own user or limits): ignored", e.key)
			} else {
				warn(e.file, e.line, "[supervisord] has no key %q: ignored", e.key)
			}
		}
	}
	return nil
}

func (c *Config) readSocket(s *section, vars map[string]string, warn func(string, int, string, ...any)) error {
	sock := &Socket{Mode: 0o700}
	for _, e := range s.entries {
		v, err := expand(e.value, vars, true)
		if err != nil {
			return fmt.Errorf("%s:%d: %s: %v", e.file, e.line, e.key, err)
		}
		switch e.key {
		case "file":
			sock.Path = v
		case "chmod":
			m, err := parseOctal(v)
			if err != nil {
				return fmt.Errorf("%s:%d: chmod: %v", e.file, e.line, err)
			}
			sock.Mode = os.FileMode(m)
		case "chown":
			sock.Chown = v
		case "username":
			sock.Username = v
		case "password":
			sock.Password = v
		default:
			warn(e.file, e.line, "[unix_http_server] has no key %q: ignored", e.key)
		}
	}
	if sock.Path == "" {
		return fmt.Errorf("%s:%d: [unix_http_server] must define \"file\"", s.file, s.line)
	}
	c.Socket = sock
	return nil
}

// readProgram reads one [program:x] into its processes (numprocs of them).
func (c *Config) readProgram(s *section, program string, warn func(string, int, string, ...any)) ([]*Process, error) {
	here := filepath.Dir(abs(s.file))
	host, _ := os.Hostname()
	base := map[string]string{"here": here, "program_name": program, "group_name": program, "host_node_name": host}
	numprocs, start := 1, 0
	for _, k := range []string{"numprocs", "numprocs_start"} {
		if e, ok := s.get(k); ok {
			v, err := expand(e.value, base, true)
			n, err2 := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || err2 != nil || n < 0 || (k == "numprocs" && (n < 1 || n > 10000)) {
				return nil, fmt.Errorf("%s:%d: %s: not a number in range: %q", e.file, e.line, k, e.value)
			}
			if k == "numprocs" {
				numprocs = n
			} else {
				start = n
			}
		}
	}
	base["numprocs"] = strconv.Itoa(numprocs)
	for _, e := range s.entries {
		if ok, known := programKeys[e.key]; !known {
			warn(e.file, e.line, "[%s] has no key %q (unknown to supervisord and svinit): ignored", s.name, e.key)
		} else if !ok {
			warn(e.file, e.line, "[%s] %s is not supported by svinit: ignored", s.name, e.key)
		}
	}
	var out []*Process
	for i := 0; i < numprocs; i++ {
		vars := map[string]string{}
		for k, v := range base {
			vars[k] = v
		}
		vars["process_num"] = strconv.Itoa(start + i)
		p, err := c.readProcess(s, program, vars)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if numprocs > 1 {
		if e, ok := s.get("process_name"); !ok || !strings.Contains(e.value, "%(process_num)") {
			return nil, fmt.Errorf("%s:%d: [%s]: %%(process_num) must be present within process_name when numprocs > 1", s.file, s.line, s.name)
		}
	}
	return out, nil
}

func (c *Config) readProcess(s *section, program string, vars map[string]string) (*Process, error) {
	p := &Process{Program: program, Group: program, Umask: -1, Priority: 999, Autostart: true,
		Autorestart: "unexpected", ExitCodes: []int{0}, StartSecs: 1, StartRetries: 3,
		StopSignal: "TERM", StopWaitSecs: 10}
	auto := LogSpec{Path: "AUTO", MaxBytes: 50 << 20, Backups: 10}
	p.Stdout, p.Stderr = auto, auto
	val := map[string]string{}
	where := map[string]entry{}
	for _, e := range s.entries {
		if e.key == "process_name" {
			continue
		}
		where[e.key] = e
	}
	p.Name = program
	if e, ok := s.get("process_name"); ok {
		v, err := expand(e.value, vars, true)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: process_name: %v", e.file, e.line, err)
		}
		if v == "" || strings.ContainsAny(v, ":/") || strings.HasPrefix(v, ".") {
			return nil, fmt.Errorf("%s:%d: process_name: not a usable name: %q", e.file, e.line, v)
		}
		p.Name = v
	}
	vars["process_name"] = p.Name
	for k, e := range where {
		v, err := expand(e.value, vars, true)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %v", e.file, e.line, k, err)
		}
		val[k] = v
	}
	var err error
	bad := func(key string, cause error) error {
		e := where[key]
		return fmt.Errorf("%s:%d: %s: %v", e.file, e.line, key, cause)
	}
	intKey := func(key string, dst *int) error {
		if v, ok := val[key]; ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				return bad(key, fmt.Errorf("not a whole number: %q", v))
			}
			*dst = n
		}
		return nil
	}
	boolKey := func(key string, dst *bool) error {
		if v, ok := val[key]; ok {
			if *dst, err = parseBool(v); err != nil {
				return bad(key, err)
			}
		}
		return nil
	}
	cmd, ok := val["command"]
	if !ok {
		return nil, fmt.Errorf("%s:%d: [%s] must define \"command\"", s.file, s.line, s.name)
	}
	p.Command = cmd
	if p.Argv, err = splitCommand(cmd); err != nil {
		return nil, bad("command", err)
	}
	if len(p.Argv) == 0 {
		return nil, bad("command", fmt.Errorf("empty command"))
	}
	for _, f := range []error{
		intKey("priority", &p.Priority), intKey("startsecs", &p.StartSecs), intKey("startretries", &p.StartRetries),
		intKey("stopwaitsecs", &p.StopWaitSecs), boolKey("autostart", &p.Autostart),
		boolKey("stopasgroup", &p.StopAsGroup), boolKey("killasgroup", &p.KillAsGroup),
		boolKey("redirect_stderr", &p.RedirectStderr),
	} {
		if f != nil {
			return nil, f
		}
	}
	if _, set := val["killasgroup"]; !set {
		p.KillAsGroup = p.StopAsGroup
	}
	if v, ok := val["autorestart"]; ok {
		switch l := strings.ToLower(strings.TrimSpace(v)); l {
		case "unexpected":
			p.Autorestart = l
		default:
			b, err := parseBool(v)
			if err != nil {
				return nil, bad("autorestart", fmt.Errorf("not true, false or unexpected: %q", v))
			}
			p.Autorestart = strconv.FormatBool(b)
		}
	}
	if v, ok := val["exitcodes"]; ok {
		p.ExitCodes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 || n > 255 {
				return nil, bad("exitcodes", fmt.Errorf("not an exit code (0-255): %q", f))
			}
			p.ExitCodes = append(p.ExitCodes, n)
		}
	}
	if v, ok := val["stopsignal"]; ok {
		if p.StopSignal, err = signalName(v); err != nil {
			return nil, bad("stopsignal", err)
		}
	}
	if v, ok := val["umask"]; ok {
		if p.Umask, err = parseOctal(v); err != nil {
			return nil, bad("umask", err)
		}
	}
	if v, ok := val["environment"]; ok {
		if p.Env, err = parseEnvironment(v); err != nil {
			return nil, bad("environment", err)
		}
	}
	p.Directory = val["directory"]
	p.ServerURL = val["serverurl"]
	if v, ok := val["user"]; ok {
		p.User = strings.TrimSpace(v)
		if _, err := lookupUser(p.User); err != nil {
			return nil, bad("user", err)
		}
	}
	for _, ch := range []struct {
		name string
		spec *LogSpec
	}{{"stdout", &p.Stdout}, {"stderr", &p.Stderr}} {
		if v, ok := val[ch.name+"_logfile"]; ok {
			switch strings.ToUpper(strings.TrimSpace(v)) {
			case "NONE", "OFF":
				ch.spec.Path = ""
			case "AUTO":
			default:
				ch.spec.Path = strings.TrimSpace(v)
			}
		}
		if v, ok := val[ch.name+"_logfile_maxbytes"]; ok {
			if ch.spec.MaxBytes, err = parseBytes(v); err != nil {
				return nil, bad(ch.name+"_logfile_maxbytes", err)
			}
		}
		if err := intKey(ch.name+"_logfile_backups", &ch.spec.Backups); err != nil {
			return nil, err
		}
		if ch.spec.Path == "AUTO" {
			ch.spec.Path = filepath.Join(c.ChildLogDir, fmt.Sprintf("%s-%s---%s-svinit.log", p.Name, ch.name, c.Identifier))
		}
	}
	if p.RedirectStderr {
		p.Stderr = LogSpec{}
	}
	return p, nil
}

// lookupUser finds a user by name or uid, as supervisord's name_to_uid.
func lookupUser(name string) (*user.User, error) {
	if _, err := strconv.Atoi(name); err == nil {
		u, err := user.LookupId(name)
		if err != nil {
			return &user.User{Uid: name, Gid: name, Username: name}, nil
		}
		return u, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("invalid user name %s", name)
	}
	return u, nil
}
