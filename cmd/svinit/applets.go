package main

import (
	"os"

	pid1 "github.com/svinit/svinit/init"
)

// table is the one list of programs in the binary: its name (argv[0]'s
// basename, or argv[1]), what runs it, and whether svinit --install DIR
// makes the link DIR/NAME. Not linked: svinit itself and its subcommands
// (svinit check, svinit health), /init (s6-overlay's; a DIR/init in PATH
// would shadow the system's init), the hidden applets of generated scripts
// (their names start with --, or they are called by svinit's own path).
var table = []struct {
	name string
	run  applet
	link bool
}{
	{"svinit", runInit, false},
	{"check", runCheck, false},
	{"health", runHealth, false},

	// daemontools and runit
	{"svc", runSvc, true},
	{"svstat", runSvstat, true},
	{"svok", runSvok, true},
	{"sv", runSv, true},
	{"svscanctl", runSvscanctl, true},
	{"svwait", runSvwait, true},
	{"setuidgid", runSetuidgid, true},
	{"envuidgid", runEnvuidgid, true},
	{"envdir", runEnvdir, true},
	{"softlimit", runSoftlimit, true},
	{"pgrphack", runPgrphack, true},
	{"chpst", runChpst, true},
	{"multilog", runMultilog, true},
	{"tai64nlocal", runTai64nlocal, true},

	// tini, dumb-init, phusion's my_init
	{"tini", runTini, true},
	{"docker-init", runTini, true},
	{"dumb-init", runDumbInit, true},
	{"my_init", runMyInit, true},

	// s6 and s6-overlay
	{"s6-setuidgid", runS6Setuidgid, true},
	{"s6-envuidgid", runS6Envuidgid, true},
	{"s6-applyuidgid", runS6Applyuidgid, true},
	{"s6-softlimit", runS6Softlimit, true},
	{"s6-envdir", runS6Envdir, true},
	{"with-contenv", runWithContenv, true},
	{"printcontenv", runPrintcontenv, true},
	{"init", runS6Init, false},
	{"--s6-overlay-stage", runS6Stage, false},
	{"--s6-overlay-halt", runS6Halt, false},

	// supervisord
	{"supervisord", runSupervisord, true},
	{"supervisorctl", runSupervisorctl, true},
	{"--supervisord", runSupervisordFile, false},
	{"supervisord-run", runSupervisordRun, false},
	{"supervisord-logger", runSupervisordLogger, false},
}

// applets is table by name.
var applets map[string]applet

// linked are the names svinit --install links, in table's order.
var linked []string

func init() {
	applets = make(map[string]applet, len(table))
	for _, a := range table {
		applets[a.name] = a.run
		if a.link {
			linked = append(linked, a.name)
		}
	}
	if name, _ := pick(os.Args); !clients[name] {
		pid1.KeepMainThread() // here: in package initialisation, on the main thread
	}
}

// clients only talk to a running supervisor and exit: they start without
// what the inits need (pid1.KeepMainThread).
var clients = map[string]bool{"svc": true, "svstat": true, "svok": true, "sv": true,
	"svscanctl": true, "svwait": true, "supervisorctl": true}
