package pid1

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Config is what svinit was asked to do.
type Config struct {
	Argv       []string      // the main command; empty in services-only mode
	Group      bool          // -g: forward signals to the main command's process group
	ZeroCodes  map[int]bool  // -e CODE: exit codes reported as 0
	Grace      time.Duration // --grace: TERM → KILL for what is left
	ServiceDir string        // -s DIR; /service when there is no main command
	Rescan     time.Duration // --rescan: safety-net rescan of the service tree
	Drain      time.Duration // --drain: on TERM, keep everything up this long first
	ReadyWait  time.Duration // --ready-timeout: the main command waits this long for the services
	HTTP       string        // --http ADDR: /livez, /readyz, /metrics
	LogJSON    bool          // --log-format json
	Syslog     string        // --syslog: listen on /dev/log (or --syslog-socket PATH)
	Trace      bool          // --trace: log every life-cycle decision
	Protocol   string        // --protocol: the tree's on-disk protocol, s6 or daemontools ("": $SVINIT_PROTOCOL)
	GraceSet   bool          // --grace or SVINIT_GRACE was given
	S6Overlay  bool          // --s6-overlay (or svinit as /init): s6-overlay v3's layout (s6overlay.go)
	// ReadyProceed: at --ready-timeout, start the main command anyway
	// (s6-overlay with S6_BEHAVIOUR_IF_STAGE2_FAILS below 2) instead of stopping.
	ReadyProceed bool

	// --termination-log: where a failure exit's reason is written ("": nowhere)
	TerminationLog string

	// --secrets-from-files (env SVINIT_SECRET_FILES=1 or NAME,...): NAME_FILE
	// and FILE__NAME become NAME (secrets.go); "" off
	SecretFiles string
	// Prelude runs before the services and the main command (my_init's
	// start-up files; myinit.go); set by an applet, never by an option
	Prelude Prelude
}

// DefaultReadyWait is how long the main command waits for the services.
const DefaultReadyWait = time.Minute

// ReadyTimeoutCode is svinit's exit code when the services were not ready
// in time for the main command.
const ReadyTimeoutCode = 124

// DefaultServiceDir is the tree supervised when svinit has no main command.
const DefaultServiceDir = "/service"

// DefaultRescan is how often the service tree is checked where inotify
// cannot be relied on (a stat of DIR; a scan only if it changed).
const DefaultRescan = 5 * time.Minute

// DefaultGrace is the shutdown deadline when neither --grace nor
// SVINIT_GRACE says: Docker's 10 s minus a margin, so that svinit is gone
// (deadline + at most 1 s) before Docker's SIGKILL.
const DefaultGrace = 8 * time.Second

// ErrHelp is returned by ParseArgs for -h / --help.
var ErrHelp = flag.ErrHelp

// Usage is the one-screen help for the svinit applet.
const Usage = `usage: svinit [options] [-s DIR] [--] [CMD [ARG...]]

Without CMD, svinit supervises the service directories in DIR (default /service).

options:
  -g                forward signals to CMD's whole process group
  -e CODE           report CMD's exit code CODE as 0 (repeatable)
  -s DIR            supervise the service directories in DIR
                    (env SVINIT_SERVICE_DIR; default /service without CMD)
  --grace DUR       the shutdown deadline: TERM, and KILL what is left after DUR
                    (env SVINIT_GRACE; default 8s; "8s", "500ms" or seconds)
  --drain DUR       on SIGTERM, keep everything up DUR first (env SVINIT_DRAIN)
  --ready-timeout DUR  CMD waits DUR at most for the services (default 1m)
  --http ADDR       serve /livez, /readyz and /metrics on ADDR (off by default)
  --log-format F    text (default: "name: line") or json (one object a line)
  --syslog          print what daemons send to /dev/log (--syslog-socket PATH: elsewhere)
  --rescan DUR      check DIR every DUR where inotify cannot be relied on
                    (NFS, FUSE, a symlink, no watch; default 5m; 0: never)
  --termination-log PATH  write why svinit exits with a failure to PATH
                    (env SVINIT_TERMINATION_LOG; default /dev/termination-log
                    when it exists, as the kubelet makes it; "": never)
  --protocol P      the service tree speaks s6 (s6 2.11's supervise/) or
                    daemontools (default; runit's too) (env SVINIT_PROTOCOL)
  --secrets-from-files  FILE__NAME=/path, and NAME_FILE=/path under /run/secrets,
                    become NAME with the file's content for the services and
                    CMD (env SVINIT_SECRET_FILES=1; =NAME,NAME: those, any path)
  --s6-overlay      run s6-overlay v3's layout (as svinit does when it is /init):
                    /etc/cont-init.d, /etc/s6-overlay/s6-rc.d, /etc/services.d,
                    /etc/cont-finish.d, served from /run/service
  --trace           log every life-cycle decision: service, event, state
                    before and after, actions; and each shutdown step
                    (env SVINIT_TRACE=1)
`

// ParseArgs reads svinit's options; the main command follows "--" or the
// first argument that is not an option. env is looked up for SVINIT_GRACE.
func ParseArgs(args []string, getenv func(string) string) (Config, error) {
	cfg := Config{ZeroCodes: map[int]bool{}, Grace: DefaultGrace, Rescan: DefaultRescan, ReadyWait: DefaultReadyWait}
	for name, dst := range map[string]*time.Duration{"SVINIT_GRACE": &cfg.Grace, "SVINIT_DRAIN": &cfg.Drain} {
		if v := getenv(name); v != "" {
			d, err := parseDuration(v)
			if err != nil {
				return cfg, fmt.Errorf("%s: %w", name, err)
			}
			*dst = d
		}
	}
	cfg.GraceSet = getenv("SVINIT_GRACE") != ""
	cfg.ServiceDir = getenv("SVINIT_SERVICE_DIR")
	cfg.Trace = getenv("SVINIT_TRACE") == "1"
	cfg.SecretFiles = getenv("SVINIT_SECRET_FILES")
	cfg.TerminationLog = DefaultTerminationLog
	if v := getenv("SVINIT_TERMINATION_LOG"); v != "" {
		cfg.TerminationLog = v
	}
	fs := flag.NewFlagSet("svinit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&cfg.Group, "g", false, "")
	fs.Func("e", "", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 255 {
			return fmt.Errorf("not an exit code (0-255): %q", v)
		}
		cfg.ZeroCodes[n] = true
		return nil
	})
	fs.Func("grace", "", func(v string) (err error) {
		cfg.Grace, err = parseDuration(v)
		cfg.GraceSet = true
		return err
	})
	fs.BoolVar(&cfg.S6Overlay, "s6-overlay", false, "")
	durationFlag(fs, "drain", &cfg.Drain)
	durationFlag(fs, "ready-timeout", &cfg.ReadyWait)
	fs.StringVar(&cfg.HTTP, "http", "", "")
	fs.BoolFunc("syslog", "", func(string) error {
		if cfg.Syslog == "" {
			cfg.Syslog = "/dev/log"
		}
		return nil
	})
	fs.StringVar(&cfg.Syslog, "syslog-socket", "", "")
	fs.BoolVar(&cfg.Trace, "trace", cfg.Trace, "")
	fs.BoolFunc("secrets-from-files", "", func(string) error { cfg.SecretFiles = SecretsAll; return nil })
	fs.StringVar(&cfg.TerminationLog, "termination-log", cfg.TerminationLog, "")
	fs.Func("log-format", "", func(v string) error {
		switch v {
		case "text", "json":
			cfg.LogJSON = v == "json"
			return nil
		}
		return fmt.Errorf("log format %q: text or json", v)
	})
	fs.StringVar(&cfg.ServiceDir, "s", cfg.ServiceDir, "")
	fs.Func("protocol", "", func(v string) error {
		switch v {
		case "s6", "daemontools", "runit":
			cfg.Protocol = v
			return nil
		}
		return fmt.Errorf("protocol %q: s6 or daemontools", v)
	})
	durationFlag(fs, "rescan", &cfg.Rescan)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, ErrHelp
		}
		return cfg, err
	}
	cfg.Argv = fs.Args()
	if len(cfg.Argv) == 0 && cfg.ServiceDir == "" {
		cfg.ServiceDir = DefaultServiceDir
	}
	return cfg, nil
}

func durationFlag(fs *flag.FlagSet, name string, dst *time.Duration) {
	fs.Func(name, "", func(v string) error {
		d, err := parseDuration(v)
		*dst = d
		return err
	})
}

// parseDuration accepts a Go duration ("5s", "1m30s", "250ms") or a number
// of seconds ("5", "2.5").
// maxSeconds is the longest duration given in plain seconds: a century,
// far below where time.Duration would overflow.
const maxSeconds = 100 * 365 * 24 * 3600

func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || f > maxSeconds || f != f {
			return 0, fmt.Errorf("not a duration: %q (0 to %d seconds)", v, int(maxSeconds))
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("not a duration: %q", v)
	}
	return d, nil
}

// ExitCode applies -e to a code.
func (c Config) ExitCode(code int) int {
	if c.ZeroCodes[code] {
		return 0
	}
	return code
}
