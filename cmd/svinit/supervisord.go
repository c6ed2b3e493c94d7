package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	pid1 "github.com/svinit/svinit/init"
	"github.com/svinit/svinit/internal/supervisord"
	"github.com/svinit/svinit/internal/svlog"

	"golang.org/x/sys/unix"
)

const supervisordUsage = `usage: supervisord [-n] [-c FILE] [--svinit-dir DIR]
       svinit --supervisord FILE

svinit runs the programs of a supervisord.conf under its own supervisor
(docs/migrating-supervisord.md). Without -c: ./supervisord.conf,
./etc/supervisord.conf, /etc/supervisord.conf, /etc/supervisor/supervisord.conf.

options:
  -c, --configuration FILE  the configuration file
  -n, --nodaemon            accepted: svinit never daemonizes
  --svinit-dir DIR          where the service directories are generated
                            (env SVINIT_SUPERVISORD_DIR; default /run/svinit/supervisord)
  -v, --version             print supervisord's version svinit speaks for
  -h, --help                this text
`

// runSupervisordFile is "svinit --supervisord FILE".
func runSupervisordFile(args []string) int {
	if len(args) < 1 {
		fmt.Fprint(os.Stderr, supervisordUsage)
		return 2
	}
	return runSupervisord(append([]string{"-c", args[0]}, args[1:]...))
}

// runSupervisord is svinit as supervisord: the configuration is translated
// into service directories, the XML-RPC server serves supervisorctl on the
// [unix_http_server] socket, and svinit's PID 1 and supervisor run the tree.
func runSupervisord(args []string) int {
	pid1.Sanitize()
	file, dir := "", os.Getenv("SVINIT_SUPERVISORD_DIR")
	if dir == "" {
		dir = supervisord.DefaultDir
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, bool) {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
				return v, true
			}
			if len(a) > 2 && a[0] == '-' && a[1] != '-' {
				return a[2:], true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		switch name, _, _ := strings.Cut(a, "="); {
		case name == "-n" || name == "--nodaemon":
		case name == "-h" || name == "--help":
			fmt.Print(supervisordUsage)
			return 0
		case name == "-v" || name == "--version":
			fmt.Println(supervisord.Version)
			return 0
		case name == "--configuration" || strings.HasPrefix(a, "-c"):
			v, ok := val()
			if !ok {
				return supervisordBad("option -c requires argument")
			}
			file = v
		case name == "--svinit-dir":
			v, ok := val()
			if !ok {
				return supervisordBad("option --svinit-dir requires argument")
			}
			dir = v
		default:
			return supervisordBad(fmt.Sprintf("option %s not recognized", a))
		}
	}
	if file == "" {
		if file = supervisord.Find(); file == "" {
			fmt.Fprintln(os.Stderr, "Error: No config file found at default paths ("+strings.Join(supervisord.DefaultPaths, ", ")+"); use the -c option to specify a config file at a different path")
			return 2
		}
	}
	cfg, err := supervisord.Load(file)
	if err != nil {
		svlog.Fatal("%v", err)
		return 2
	}
	for _, w := range cfg.Warnings {
		svlog.Warn("%s", w)
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		svlog.Fatal("unable to find svinit's own binary: %v", err)
		return 111
	}
	url := ""
	if cfg.Socket != nil {
		url = "unix://" + cfg.Socket.Path
	}
	if err := supervisord.Write(cfg, dir, exe, url, os.Getpid()); err != nil {
		svlog.Fatal("%v", err)
		return 111
	}
	if cfg.PidFile != "" {
		if err := os.WriteFile(cfg.PidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			svlog.Warn("unable to write %s: %v", cfg.PidFile, err)
		}
	}
	if cfg.Socket != nil {
		srv := &supervisord.Server{Config: cfg, Dir: dir,
			Shutdown: func() { _ = unix.Kill(os.Getpid(), unix.SIGTERM) }}
		l, err := srv.Listen()
		if err != nil {
			svlog.Fatal("%v", err)
			return 111
		}
		go func() { _ = srv.Serve(l) }()
		defer os.Remove(cfg.Socket.Path)
	}
	pcfg, err := pid1.ParseArgs([]string{"-s", dir}, os.Getenv)
	if err != nil {
		svlog.Fatal("%v", err)
		return 100
	}
	code := pid1.Run(pcfg)
	if cfg.PidFile != "" {
		_ = os.Remove(cfg.PidFile)
	}
	return code
}

func supervisordBad(msg string) int {
	fmt.Fprintf(os.Stderr, "Error: %s\n%s", msg, supervisordUsage)
	return 2
}

// runSupervisordRun is the generated run of a supervisord process (its
// #! line): what supervisord does between fork and exec, then the exec.
func runSupervisordRun(args []string) int {
	spec, err := supervisord.ReadSpec(".")
	if err != nil {
		fmt.Fprintf(os.Stderr, "supervisord-run: fatal: %v\n", err)
		return 111
	}
	exe, _ := os.Executable()
	err = supervisord.Exec(spec, exe)
	fmt.Fprintf(os.Stderr, "supervisord-run: fatal: %v\n", err)
	if strings.HasPrefix(err.Error(), "can't find command") {
		return 127
	}
	return 126
}

// runSupervisordLogger copies stdin to a file with supervisord's rotation:
// supervisord-logger [-d] FILE MAXBYTES BACKUPS (-d: in the background).
func runSupervisordLogger(args []string) int {
	if len(args) == 4 && args[0] == "-d" {
		exe, _ := os.Executable()
		if err := supervisord.StartLogger(exe, args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "supervisord-logger: fatal: %v\n", err)
			return 111
		}
		return 0
	}
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: supervisord-logger [-d] FILE MAXBYTES BACKUPS")
		return 100
	}
	max, err1 := strconv.ParseInt(args[1], 10, 64)
	backups, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "usage: supervisord-logger [-d] FILE MAXBYTES BACKUPS")
		return 100
	}
	if err := supervisord.Logger(os.Stdin, args[0], max, backups); err != nil {
		fmt.Fprintf(os.Stderr, "supervisord-logger: fatal: %v\n", err)
		return 111
	}
	return 0
}
