package myinit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/svinit/svinit/internal/errstr"
)

// RootEnv names the variable that moves my_init's files under a directory:
// for tests only; it is taken out of the environment before the dump.
const RootEnv = "SVINIT_MY_INIT_ROOT"

// Options is what my_init was asked to do.
type Options struct {
	EnableInsecureKey bool     // --enable-insecure-key: refused (no SSH in svinit)
	SkipStartupFiles  bool     // --skip-startup-files
	SkipRunit         bool     // --skip-runit
	NoKillAll         bool     // --no-kill-all-on-exit: not honoured
	Quiet             bool     // --quiet: my_init's info lines not printed
	Argv              []string // the main command, after the options or --
}

// ErrSkipRunitAlone is my_init's refusal of --skip-runit without a main
// command (exit code 1).
var ErrSkipRunitAlone = errors.New("When --skip-runit is given, you must also pass a main command.")

// Usage is my_init's usage line, as argparse prints it.
const Usage = "usage: my_init [-h] [--enable-insecure-key] [--skip-startup-files]\n" +
	"               [--skip-runit] [--no-kill-all-on-exit] [--quiet]\n" +
	"               [MAIN_COMMAND ...]\n"

// Help is my_init's -h.
const Help = Usage + `
Initialize the system.

positional arguments:
  MAIN_COMMAND          The main command to run. (default: runit)

optional arguments:
  -h, --help            show this help message and exit
  --enable-insecure-key
                        Install the insecure SSH key (refused by svinit: no
                        SSH)
  --skip-startup-files  Skip running /etc/my_init.d/* and /etc/rc.local
  --skip-runit          Do not run runit services
  --no-kill-all-on-exit
                        Don't kill all processes on the system upon exiting
                        (not honoured by svinit)
  --quiet               Only print warnings and errors
`

// ErrHelp is Parse's answer to -h / --help.
var ErrHelp = errors.New("help")

// Parse reads my_init's arguments (without argv[0]): options, then the main
// command after "--" or from the first argument that is not an option.
// Options may be abbreviated to a unique prefix, as argparse allows.
func Parse(args []string) (Options, error) {
	var o Options
	flags := map[string]*bool{
		"--enable-insecure-key": &o.EnableInsecureKey, "--skip-startup-files": &o.SkipStartupFiles,
		"--skip-runit": &o.SkipRunit, "--no-kill-all-on-exit": &o.NoKillAll, "--quiet": &o.Quiet,
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			o.Argv = args[i+1:]
			return o, o.check()
		case a == "-h" || a == "--help":
			return o, ErrHelp
		case strings.HasPrefix(a, "--") && len(a) > 2:
			var hits []string
			for name := range flags {
				if name == a {
					hits = []string{name}
					break
				}
				if strings.HasPrefix(name, a) {
					hits = append(hits, name)
				}
			}
			if len(hits) != 1 {
				sort.Strings(hits)
				if len(hits) > 1 {
					return o, fmt.Errorf("ambiguous option: %s could match %s", a, strings.Join(hits, ", "))
				}
				return o, fmt.Errorf("unrecognized arguments: %s", a)
			}
			*flags[hits[0]] = true
			continue
		case strings.HasPrefix(a, "-") && a != "-":
			return o, fmt.Errorf("unrecognized arguments: %s", a)
		default:
			o.Argv = args[i:]
			return o, o.check()
		}
	}
	return o, o.check()
}

func (o Options) check() error {
	if o.SkipRunit && len(o.Argv) == 0 {
		return ErrSkipRunitAlone
	}
	return nil
}

// Timeouts are my_init's KILL_PROCESS_TIMEOUT and KILL_ALL_PROCESSES_TIMEOUT
// in seconds (-1: not set; my_init's default is 5 each).
type Timeouts struct{ Process, AllProcesses int }

// ParseTimeouts reads the two variables (integers of seconds, as my_init's
// int()).
func ParseTimeouts(getenv func(string) string) (Timeouts, error) {
	t := Timeouts{-1, -1}
	for name, dst := range map[string]*int{"KILL_PROCESS_TIMEOUT": &t.Process, "KILL_ALL_PROCESSES_TIMEOUT": &t.AllProcesses} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return t, fmt.Errorf("%s: not a number of seconds: %q", name, v)
		}
		*dst = n
	}
	return t, nil
}

// Grace is svinit's one shutdown deadline for my_init's two timeouts: the
// time my_init gives its processes after TERM (the main command and the
// services stop together in svinit: one KILL_PROCESS_TIMEOUT) plus the time
// it gives what is left; ok false when neither is set.
func (t Timeouts) Grace() (seconds int, ok bool) {
	if t.Process < 0 && t.AllProcesses < 0 {
		return 0, false
	}
	return max(t.Process, 0) + max(t.AllProcesses, 0), true
}

// Boot is my_init's start-up before the services: the environment dump and
// the start-up files.
type Boot struct {
	Layout Layout
	Opts   Options
	Stderr io.Writer
}

// info is my_init's info(): "*** MESSAGE" on stderr, not with --quiet.
func (b *Boot) info(format string, args ...any) {
	if !b.Opts.Quiet {
		fmt.Fprintf(b.Stderr, "*** "+format+"\n", args...)
	}
}

// errorf is my_init's error() and warn(): "*** MESSAGE", always.
func (b *Boot) errorf(format string, args ...any) {
	fmt.Fprintf(b.Stderr, "*** "+format+"\n", args...)
}

// Failed is the code my_init exits with when a start-up file fails.
const Failed = 1

// Aborted is the code my_init exits with when TERM or INT came during
// the start-up files ("Init system aborted.").
const Aborted = 2

// errQuiet ends the boot after Boot has said why.
var errQuiet = errors.New("")

// Run is my_init's main() up to the services: import the directory into
// the environment (a variable already set wins), dump it; then, unless
// --skip-startup-files, each executable file of /etc/my_init.d in lexical
// order and /etc/rc.local, each followed by my_init's re-import (the
// environment becomes the directory's content) and the .sh and .json
// rewritten. run starts a command and waits for its exit code; an error
// from it is an interruption. Run sets svinit's own environment: the
// services and the main command inherit it. A code and an error end the
// start-up with that code.
func (b *Boot) Run(run func(argv []string) (int, error)) (int, error) {
	env, err := b.Layout.Import(ParseEnv(os.Environ()), false, false)
	if err == nil {
		err = b.Layout.Export(env, true)
	}
	if err != nil {
		return Failed, err
	}
	setenv(env)
	if b.Opts.SkipStartupFiles {
		return 0, nil
	}
	files, err := b.startupFiles()
	if err != nil {
		return Failed, err
	}
	for _, f := range files {
		b.info("Running %s...", f)
		code, err := run([]string{f})
		if err != nil {
			b.errorf("An error occurred. Aborting.")
			b.errorf("Init system aborted.")
			return Aborted, errQuiet
		}
		if code != 0 {
			b.errorf("%s failed with status %d\n", f, code) // my_init's extra newline
			return Failed, fmt.Errorf("start-up file %s failed with exit code %d", f, code)
		}
		if env, err = b.Layout.Import(env, true, true); err == nil {
			err = b.Layout.Export(env, false)
		}
		if err != nil {
			return Failed, err
		}
		setenv(env)
	}
	if !b.Opts.SkipRunit {
		b.info("Booting runit daemon...")
	}
	if len(b.Opts.Argv) > 0 {
		b.info("Running %s...", strings.Join(b.Opts.Argv, " "))
	}
	return 0, nil
}

// startupFiles are the executable regular files of /etc/my_init.d in
// lexical order (my_init: sorted(listdir)), then /etc/rc.local if it is
// executable.
func (b *Boot) startupFiles() ([]string, error) {
	var out []string
	dir := b.Layout.InitDir()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, errstr.Unable("read", dir, err)
	}
	for _, e := range ents { // ReadDir sorts by name: bytewise, as Python's sorted
		p := filepath.Join(dir, e.Name())
		if isExe(p) {
			out = append(out, p)
		}
	}
	if rc := b.Layout.RcLocal(); isExe(rc) {
		out = append(out, rc)
	}
	return out, nil
}

// isExe is my_init's is_exe: a regular file (through symlinks) with an x bit
// for svinit (access(X_OK)).
func isExe(p string) bool {
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	return st.Mode().Perm()&0o111 != 0
}

// setenv makes e svinit's environment.
func setenv(e *Env) {
	os.Clearenv()
	for _, kv := range e.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
}

// Warnings are the lines, one a knob, svinit says at start for what it
// does not do as my_init does.
func (o Options) Warnings(t Timeouts, graceFromEnv bool) []string {
	var w []string
	if o.EnableInsecureKey {
		w = append(w, "--enable-insecure-key refused: svinit runs no SSH server and installs no key")
	}
	if o.NoKillAll {
		w = append(w, "--no-kill-all-on-exit not honoured: svinit TERMs what is left of its tree after the services, and KILLs it at the deadline")
	}
	if graceFromEnv && (t.Process >= 0 || t.AllProcesses >= 0) {
		w = append(w, "KILL_PROCESS_TIMEOUT and KILL_ALL_PROCESSES_TIMEOUT not honoured: SVINIT_GRACE sets the deadline")
	}
	return w
}

// Unsupported lists my_init's shutdown directories that exist under l
// (baseimage's /etc/my_init.pre_shutdown.d and post_shutdown.d), which svinit
// does not run.
func (l Layout) Unsupported() []string {
	var out []string
	for _, d := range []string{"/etc/my_init.pre_shutdown.d", "/etc/my_init.post_shutdown.d"} {
		if st, err := os.Stat(l.path(d)); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}
