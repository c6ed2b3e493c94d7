package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"github.com/svinit/svinit/internal/errstr"

	"github.com/svinit/svinit/internal/chain"
	"golang.org/x/sys/unix"
)

// fatal prints "NAME: fatal: MSG" and returns daemontools' exit code 111.
func fatal(name, format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "%s: fatal: %s\n", name, fmt.Sprintf(format, args...))
	return 111
}

func usage(name, text string, code int) int {
	fmt.Fprintf(os.Stderr, "%s: usage: %s %s\n", name, name, text)
	return code
}

// run executes the child or says why not (exit 111); setup runs between
// the preparation of the exec and the exec itself.
func run(name string, argv []string, setup ...func() error) int {
	runtime.LockOSThread() // the setup and the exec on one thread
	p, err := chain.Prepare(argv, "")
	if err != nil {
		return fatal(name, "unable to run %s: %s", argv[0], errstr.Text(err))
	}
	for _, f := range setup {
		if err := f(); err != nil {
			return fatal(name, "%v", err)
		}
	}
	err = p.Run()
	return fatal(name, "unable to run %s: %s", argv[0], errstr.Text(err))
}

// runSetuidgid is daemontools' setuidgid ACCOUNT CHILD.
func runSetuidgid(args []string) int {
	if len(args) < 2 {
		return usage("setuidgid", "account child", 100)
	}
	a, err := chain.LookupAccount(args[0], false)
	if err != nil {
		return fatal("setuidgid", "unknown account %s", args[0])
	}
	if err := a.Become(); err != nil {
		return fatal("setuidgid", "%v", err)
	}
	return run("setuidgid", args[1:])
}

// runEnvuidgid is daemontools' envuidgid ACCOUNT CHILD: $UID and $GID.
func runEnvuidgid(args []string) int {
	if len(args) < 2 {
		return usage("envuidgid", "account child", 100)
	}
	a, err := chain.LookupAccount(args[0], false)
	if err != nil {
		return fatal("envuidgid", "unknown account %s", args[0])
	}
	a.Env()
	return run("envuidgid", args[1:])
}

// runEnvdir is daemontools' envdir DIR CHILD (its usage exits 111, as there).
func runEnvdir(args []string) int {
	if len(args) < 2 {
		return usage("envdir", "dir child", 111)
	}
	if err := chain.Envdir(args[0], nil); err != nil {
		return fatal("envdir", "%v", err)
	}
	return run("envdir", args[1:])
}

// runPgrphack is daemontools' pgrphack CHILD: a new session and process group.
func runPgrphack(args []string) int {
	if len(args) < 1 {
		return usage("pgrphack", "child", 100)
	}
	_, _ = syscall.Setsid()
	return run("pgrphack", args)
}

const softlimitUsage = "[-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child"

// limitFlags are softlimit's (and chpst's) letters.
var limitFlags = map[byte][]int{
	'a': {unix.RLIMIT_AS}, 'c': {unix.RLIMIT_CORE}, 'd': {unix.RLIMIT_DATA}, 'f': {unix.RLIMIT_FSIZE},
	'l': {unix.RLIMIT_MEMLOCK}, 'o': {unix.RLIMIT_NOFILE}, 'p': {unix.RLIMIT_NPROC}, 'r': {unix.RLIMIT_RSS},
	's': {unix.RLIMIT_STACK}, 't': {unix.RLIMIT_CPU},
	'm': {unix.RLIMIT_DATA, unix.RLIMIT_STACK, unix.RLIMIT_MEMLOCK, unix.RLIMIT_AS},
}

// runSoftlimit is daemontools' softlimit: set soft resource limits, then
// run the child. A malformed value is a usage error (100), as there.
func runSoftlimit(args []string) int {
	opts, rest, bad := getopt(args, "a:c:d:f:l:m:o:p:r:s:t:")
	if bad != 0 {
		fmt.Fprintf(os.Stderr, "softlimit: illegal option -- %c\n", bad)
		return usage("softlimit", softlimitUsage, 100)
	}
	var limits []chain.Limit
	for _, o := range opts {
		for _, res := range limitFlags[o.letter] {
			l, err := chain.ParseLimit(res, o.value)
			if err != nil {
				return usage("softlimit", softlimitUsage, 100)
			}
			limits = append(limits, l)
		}
	}
	if len(rest) == 0 {
		return usage("softlimit", softlimitUsage, 100)
	}
	return run("softlimit", rest, func() error { return chain.SetLimits(limits) })
}

const chpstUsage = "usage: chpst [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog\n\n"

func chpstFatal(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "chpst: fatal: %s\n", fmt.Sprintf(format, args...))
	return 111
}

// runChpst is runit's chpst with its common options.
func runChpst(args []string) int {
	opts, rest, bad := getopt(args, "u:U:b:e:/:n:l:L:m:d:o:p:f:c:r:t:vVP012")
	if bad != 0 {
		fmt.Fprintf(os.Stderr, "chpst: illegal option -- %c\n%s", bad, chpstUsage)
		return 100
	}
	if len(rest) == 0 {
		fmt.Fprint(os.Stderr, chpstUsage)
		return 100
	}
	var p chpstPlan
	for _, o := range opts {
		if code := p.add(o); code != 0 {
			return code
		}
	}
	return p.apply(rest)
}

// chpstPlan is what chpst's options ask for, applied in runit's order.
type chpstPlan struct {
	user, envUser    string
	argv0, env, root string
	nice             int
	lock             string
	lockWait         bool
	limits           []chain.Limit
	pgrp             bool
	closeFds         []int
	verbose          bool
}

func (p *chpstPlan) add(o opt) int {
	switch o.letter {
	case 'u':
		p.user = o.value
	case 'U':
		p.envUser = o.value
	case 'b':
		p.argv0 = o.value
	case 'e':
		p.env = o.value
	case '/':
		p.root = o.value
	case 'n':
		n, err := strconv.Atoi(o.value)
		if err != nil {
			fmt.Fprint(os.Stderr, chpstUsage)
			return 100
		}
		p.nice = n
	case 'l', 'L':
		if p.lock != "" {
			fmt.Fprint(os.Stderr, chpstUsage)
			return 100
		}
		p.lock, p.lockWait = o.value, o.letter == 'l'
	case 'P':
		p.pgrp = true
	case '0', '1', '2':
		p.closeFds = append(p.closeFds, int(o.letter-'0'))
	case 'v':
		p.verbose = true
	case 'V':
	default:
		for _, res := range limitFlags[o.letter] {
			l, err := chain.ParseLimit(res, o.value)
			if err != nil || l.Hard {
				fmt.Fprint(os.Stderr, chpstUsage)
				return 100
			}
			p.limits = append(p.limits, l)
		}
	}
	return 0
}

func (p *chpstPlan) apply(argv []string) int {
	// Niceness is per thread on Linux: the setup and the exec must happen
	// on one thread, or the program may start with another thread's nice.
	runtime.LockOSThread()
	var acct, envAcct chain.Account
	var err error
	if p.user != "" {
		if acct, err = chain.LookupAccount(p.user, true); err != nil {
			return chpstFatal("unknown user/group: %s", p.user)
		}
	}
	if p.envUser != "" {
		if envAcct, err = chain.LookupAccount(p.envUser, true); err != nil {
			return chpstFatal("unknown user/group: %s", p.envUser)
		}
		envAcct.Env()
	}
	if p.env != "" {
		// runit's chpst skips a subdirectory (and says so with -v), where
		// daemontools' envdir fails.
		skip := func(path string, err error) {
			if p.verbose {
				fmt.Fprintf(os.Stderr, "chpst: warning: unable to read %s: %s\n", path, errstr.Text(err))
			}
		}
		if err := chain.Envdir(p.env, skip); err != nil {
			if de, ok := err.(*chain.DirError); ok {
				return chpstFatal("unable to switch to directory: %s: %s", de.Dir, errstr.Text(de.Err))
			}
			return chpstFatal("%v", err)
		}
	}
	if p.root != "" {
		if err := os.Chdir(p.root); err != nil {
			return chpstFatal("unable to change directory: %s: %s", p.root, errstr.Text(err))
		}
		if err := syscall.Chroot("."); err != nil {
			return chpstFatal("unable to change root directory: %s", errstr.Text(err))
		}
	}
	if p.nice != 0 {
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, p.nice); err != nil {
			return chpstFatal("unable to set niceness: %s", errstr.Text(err))
		}
	}
	if p.lock != "" {
		if code := p.takeLock(); code != 0 {
			return code
		}
	}
	prepared, err := chain.Prepare(argv, p.argv0)
	if err != nil {
		return chpstFatal("unable to run: %s: %s", argv[0], errstr.Text(err))
	}
	if p.user != "" {
		if err := acct.Become(); err != nil {
			return chpstFatal("%v", err)
		}
	}
	if err := chain.SetLimits(p.limits); err != nil {
		return chpstFatal("%v", err)
	}
	if p.pgrp {
		_, _ = syscall.Setsid()
	}
	for _, fd := range p.closeFds {
		syscall.Close(fd)
	}
	err = prepared.Run()
	return chpstFatal("unable to run: %s: %s", argv[0], errstr.Text(err))
}

// takeLock opens the lock file and takes an exclusive lock on it: -l
// waits for it, -L fails at once if it is held. The fd stays open across
// exec, holding the lock for the program.
func (p *chpstPlan) takeLock() int {
	fd, err := unix.Open(p.lock, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT, 0o600)
	if err != nil {
		return chpstFatal("unable to open lock: %s: %s", p.lock, errstr.Text(err))
	}
	how := unix.LOCK_EX
	if !p.lockWait {
		how |= unix.LOCK_NB
	}
	if err := unix.Flock(fd, how); err != nil {
		return chpstFatal("unable to lock: %s: %s", p.lock, errstr.Text(err))
	}
	return 0
}
