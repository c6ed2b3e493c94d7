package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/svinit/svinit/internal/supervisord"
)

const supervisorctlUsage = `usage: supervisorctl [-c FILE] [-s unix://PATH] [-u USER] [-p PASSWORD] COMMAND [NAME...]

commands: status [NAME...], start NAME..., stop NAME..., restart NAME...,
pid [NAME...|all], version, shutdown (NAME: name, group:name, group:*, all)
`

// LSB exit codes supervisorctl uses.
const (
	ctlGeneric    = 1
	ctlNotRunning = 3
	ctlUnknown    = 4
)

// runSupervisorctl is svinit's supervisorctl: the same XML-RPC calls and
// the same output as supervisor's for the commands it knows.
func runSupervisorctl(args []string) int {
	file, url, user, pass := "", "", "", ""
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		opt := args[0]
		if opt == "-h" || opt == "--help" {
			fmt.Print(supervisorctlUsage)
			return 0
		}
		if len(args) < 2 {
			fmt.Fprint(os.Stderr, supervisorctlUsage)
			return 2
		}
		switch opt {
		case "-c", "--configuration":
			file = args[1]
		case "-s", "--serverurl":
			url = args[1]
		case "-u", "--username":
			user = args[1]
		case "-p", "--password":
			pass = args[1]
		default:
			fmt.Fprintf(os.Stderr, "Error: option %s not recognized\n%s", opt, supervisorctlUsage)
			return 2
		}
		args = args[2:]
	}
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, supervisorctlUsage)
		return 2
	}
	c := &supervisord.Client{Username: user, Password: pass}
	if url == "" {
		if file == "" {
			file = supervisord.Find()
		}
		if file == "" {
			fmt.Fprintln(os.Stderr, "Error: No config file found at default paths; use the -c option")
			return 2
		}
		cfg, err := supervisord.Load(file)
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 2
		}
		url = cfg.CtlServerURL
		if url == "" && cfg.Socket != nil {
			url = "unix://" + cfg.Socket.Path
		}
		if url == "" {
			fmt.Fprintf(os.Stderr, "Error: %s has no [unix_http_server] section\n", file)
			return 2
		}
		if c.Username == "" {
			c.Username, c.Password = cfg.CtlUsername, cfg.CtlPassword
		}
	}
	{
		path, ok := strings.CutPrefix(url, "unix://")
		if !ok {
			fmt.Fprintf(os.Stderr, "Error: svinit's supervisorctl speaks only unix:// URLs: %s\n", url)
			return 2
		}
		c.Socket = path
	}
	ctl := &ctl{c: c}
	return ctl.run(args[0], args[1:])
}

type ctl struct {
	c    *supervisord.Client
	code int
}

func (t *ctl) run(cmd string, names []string) int {
	if _, err := t.c.Call("supervisor.getVersion"); err != nil {
		if errors.Is(err, supervisord.ErrAuth) {
			fmt.Println("Server requires authentication")
		} else {
			fmt.Printf("unix://%s refused connection\n", t.c.Socket)
		}
		if cmd == "status" {
			return ctlUnknown
		}
		return ctlGeneric
	}
	switch cmd {
	case "status":
		t.status(names)
	case "start":
		t.startStop(names, true)
	case "stop":
		t.startStop(names, false)
	case "restart":
		t.startStop(names, false)
		t.startStop(names, true)
	case "pid":
		t.pid(names)
	case "version":
		v, err := t.c.Call("supervisor.getSupervisorVersion")
		if t.fail(err) {
			break
		}
		fmt.Println(v)
	case "shutdown":
		if _, err := t.c.Call("supervisor.shutdown"); !t.fail(err) {
			fmt.Println("Shut down")
		}
	default:
		fmt.Printf("*** Unknown syntax: %s\n", strings.Join(append([]string{cmd}, names...), " "))
		return ctlGeneric
	}
	return t.code
}

func (t *ctl) fail(err error) bool {
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		t.code = ctlGeneric
		return true
	}
	return false
}

func infos(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func spec(m map[string]any) string {
	g, _ := m["group"].(string)
	n, _ := m["name"].(string)
	if g == n {
		return n
	}
	return g + ":" + n
}

// splitNamespec is supervisorctl's split_namespec: process "" for group:*.
func splitNamespec(s string) (string, string) {
	g, p, ok := strings.Cut(s, ":")
	if !ok {
		return s, s
	}
	if p == "*" {
		p = ""
	}
	return g, p
}

func (t *ctl) status(names []string) {
	v, err := t.c.Call("supervisor.getAllProcessInfo")
	if t.fail(err) {
		return
	}
	all := infos(v)
	match := all
	if len(names) > 0 && !contains(names, "all") {
		match = nil
		for _, n := range names {
			g, p := splitNamespec(n)
			found := false
			for _, m := range all {
				if m["group"] == g && (p == "" || m["name"] == p) {
					match = append(match, m)
					found = true
				}
			}
			if !found {
				if p == "" {
					fmt.Printf("%s: ERROR (no such group)\n", g)
				} else {
					fmt.Printf("%s: ERROR (no such process)\n", n)
				}
				t.code = ctlUnknown
			}
		}
	}
	width := 30
	for _, m := range match {
		if l := len(spec(m)); l > width {
			width = l
		}
	}
	for _, m := range match {
		fmt.Printf("%-*s%-10s%s\n", width+3, spec(m), m["statename"], m["description"])
		if st, _ := m["state"].(int); st == supervisord.Stopped || st == supervisord.Exited || st == supervisord.Fatal || st == supervisord.Unknown {
			t.code = ctlNotRunning
		}
	}
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

var faultWords = map[int]string{10: "no such process", 20: "no such file", 21: "file is not executable",
	60: "already started", 50: "spawn error", 40: "abnormal termination", 70: "not running", 11: "bad signal name"}

func resultLine(m map[string]any, success string) string {
	code, _ := m["status"].(int)
	if code == 80 {
		return spec(m) + ": " + success
	}
	if w, ok := faultWords[code]; ok {
		return spec(m) + ": ERROR (" + w + ")"
	}
	return fmt.Sprintf("%s: ERROR (%v)", spec(m), m["description"])
}

func (t *ctl) startStop(names []string, start bool) {
	verb, word, code := "stop", "stopped", 70
	if start {
		verb, word, code = "start", "started", 60
	}
	if len(names) == 0 {
		fmt.Printf("Error: %s requires a process name\n", verb)
		t.code = ctlGeneric
		return
	}
	method := map[bool]string{true: "supervisor.startProcess", false: "supervisor.stopProcess"}[start]
	all := map[bool]string{true: "supervisor.startAllProcesses", false: "supervisor.stopAllProcesses"}[start]
	group := map[bool]string{true: "supervisor.startProcessGroup", false: "supervisor.stopProcessGroup"}[start]
	show := func(v any) {
		for _, m := range infos(v) {
			fmt.Println(resultLine(m, word))
			if c, _ := m["status"].(int); c != 80 && c != code {
				t.code = ctlGeneric
			}
		}
	}
	if contains(names, "all") {
		v, err := t.c.Call(all)
		if !t.fail(err) {
			show(v)
		}
		return
	}
	for _, n := range names {
		g, p := splitNamespec(n)
		if p == "" {
			v, err := t.c.Call(group, g)
			var f *supervisord.Fault
			if errors.As(err, &f) && f.Code == 10 {
				fmt.Printf("%s: ERROR (no such group)\n", g)
				t.code = ctlGeneric
				continue
			}
			if !t.fail(err) {
				show(v)
			}
			continue
		}
		_, err := t.c.Call(method, n)
		var f *supervisord.Fault
		if errors.As(err, &f) {
			fmt.Println(resultLine(map[string]any{"group": g, "name": p, "status": f.Code, "description": f.String}, word))
			if f.Code != code {
				t.code = ctlGeneric
			}
			continue
		}
		if t.fail(err) {
			continue
		}
		fmt.Printf("%s: %s\n", spec(map[string]any{"group": g, "name": p}), word)
	}
}

func (t *ctl) pid(names []string) {
	if len(names) == 0 {
		v, err := t.c.Call("supervisor.getPID")
		if !t.fail(err) {
			fmt.Println(v)
		}
		return
	}
	if contains(names, "all") {
		v, err := t.c.Call("supervisor.getAllProcessInfo")
		if !t.fail(err) {
			for _, m := range infos(v) {
				fmt.Println(m["pid"])
			}
		}
		return
	}
	for _, n := range names {
		v, err := t.c.Call("supervisor.getProcessInfo", n)
		var f *supervisord.Fault
		if errors.As(err, &f) && f.Code == 10 {
			fmt.Printf("No such process %s\n", n)
			t.code = ctlGeneric
			continue
		}
		if t.fail(err) {
			continue
		}
		m, _ := v.(map[string]any)
		fmt.Println(m["pid"])
		if pid, _ := m["pid"].(int); pid == 0 {
			t.code = ctlNotRunning
		}
	}
}
