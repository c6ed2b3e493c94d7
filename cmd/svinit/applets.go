package main

import (
	"os"

	pid1 "github.com/svinit/svinit/init"
)

// applets is the table of programs in the binary, by name.
var applets map[string]applet

// linked are the applets svinit --install makes symlinks for.
var linked = []string{"svc", "svstat", "svok", "sv", "svscanctl", "svwait",
	"setuidgid", "envuidgid", "envdir", "softlimit", "pgrphack", "chpst", "multilog", "tai64nlocal"}

func init() {
	applets = map[string]applet{
		"svinit":       runInit,
		"svc":          runSvc,
		"svstat":       runSvstat,
		"svok":         runSvok,
		"sv":           runSv,
		"svscanctl":    runSvscanctl,
		"svwait":       runSvwait,
		"setuidgid":    runSetuidgid,
		"envuidgid":    runEnvuidgid,
		"envdir":       runEnvdir,
		"softlimit":    runSoftlimit,
		"pgrphack":     runPgrphack,
		"chpst":        runChpst,
		"multilog":     runMultilog,
		"tai64nlocal":  runTai64nlocal,
		"check":        runCheck,
		"health":       runHealth,
		"tini":         runTini,
		"docker-init":  runTini,
		"dumb-init":    runDumbInit,
		"my_init":      runMyInit,
		"s6-setuidgid": runS6Setuidgid, "s6-envuidgid": runS6Envuidgid, "s6-applyuidgid": runS6Applyuidgid,
		"s6-softlimit": runS6Softlimit, "s6-envdir": runS6Envdir,

		"init": runS6Init, "with-contenv": runWithContenv, "printcontenv": runPrintcontenv, "--s6-overlay-stage": runS6Stage, "--s6-overlay-halt": runS6Halt,

		"supervisord": runSupervisord, "--supervisord": runSupervisordFile, "supervisord-run": runSupervisordRun, "supervisord-logger": runSupervisordLogger, "supervisorctl": runSupervisorctl,
	}
	if name, _ := pick(os.Args); !clients[name] {
		pid1.KeepMainThread() // here: in package initialisation, on the main thread
	}
}

// clients only talk to a running supervisor and exit: they start without
// what the inits need (pid1.KeepMainThread).
var clients = map[string]bool{"svc": true, "svstat": true, "svok": true, "sv": true,
	"svscanctl": true, "svwait": true, "supervisorctl": true}
