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
}

// DefaultServiceDir is the tree supervised when svinit has no main command.
const DefaultServiceDir = "/service"

// DefaultRescan is how often the service tree is read again besides inotify.
const DefaultRescan = time.Minute

// DefaultGrace is the grace period when neither --grace nor SVINIT_GRACE says.
const DefaultGrace = 5 * time.Second

// ErrHelp is returned by ParseArgs for -h / --help.
var ErrHelp = flag.ErrHelp

// Usage is the one-screen help for the svinit applet.
const Usage = `usage: svinit [options] [-s DIR] [--] [CMD [ARG...]]

Without CMD, svinit supervises the service directories in DIR (default /service).

options:
  -g           forward signals to CMD's whole process group
  -e CODE      report CMD's exit code CODE as 0 (repeatable)
  --grace DUR  after CMD exits: TERM what is left, KILL it after DUR
               (env SVINIT_GRACE; default 5s; "5s", "500ms" or seconds)
  -s DIR       supervise the service directories in DIR
               (env SVINIT_SERVICE_DIR; default /service without CMD)
  --rescan DUR read DIR again every DUR besides inotify (default 1m; 0: never)
`

// ParseArgs reads svinit's options; the main command follows "--" or the
// first argument that is not an option. env is looked up for SVINIT_GRACE.
func ParseArgs(args []string, getenv func(string) string) (Config, error) {
	cfg := Config{ZeroCodes: map[int]bool{}, Grace: DefaultGrace, Rescan: DefaultRescan}
	if v := getenv("SVINIT_GRACE"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return cfg, fmt.Errorf("SVINIT_GRACE: %w", err)
		}
		cfg.Grace = d
	}
	cfg.ServiceDir = getenv("SVINIT_SERVICE_DIR")
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
	fs.Func("grace", "", func(v string) error {
		d, err := parseDuration(v)
		cfg.Grace = d
		return err
	})
	fs.StringVar(&cfg.ServiceDir, "s", cfg.ServiceDir, "")
	fs.Func("rescan", "", func(v string) error {
		d, err := parseDuration(v)
		cfg.Rescan = d
		return err
	})
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

// parseDuration accepts a Go duration ("5s", "1m30s", "250ms") or a number
// of seconds ("5", "2.5").
func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
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
