package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/svinit/svinit/internal/errstr"

	"golang.org/x/sys/unix"
)

// config is what a service directory's optional files say (s6's names where
// s6 has them). It is read again before every start.
type config struct {
	downSignal    unix.Signal   // down-signal: sent by d and at shutdown (TERM)
	timeoutKill   time.Duration // timeout-kill: down-signal → KILL (0: never)
	timeoutFinish time.Duration // timeout-finish: ./finish → KILL (5 s; 0: never)
	notifyFd      int           // notification-fd: readiness pipe fd (-1: none)
	depends       []string      // depends: services that must be ready first
	essential     bool          // essential: the container stops if it gives up
	maxRestarts   int           // max-restarts: failures in a row before giving up (0: never)
	downGroup     bool          // down-group: the stop signals go to ./run's process group
	kind          kind          // type: longrun (default) or oneshot; schedule: scheduled
	schedule      cron.Schedule // schedule: when a scheduled service runs (nil: a bad one)
	undo          bool          // undo: a oneshot's script for the shutdown
	health        probeSpec     // health, health-tcp, health-http: the liveness probe
	healthEvery   time.Duration // health-interval (10 s)
	healthTimeout time.Duration // health-timeout (5 s)
	healthRetries int           // health-retries (3)
	healthStart   time.Duration // health-start-period (0)
	healthMark    bool          // health-action mark: shown, not restarted
	check         probeSpec     // check-tcp, check-http: a built-in readiness probe (./check is the script one)
	restart       restartPolicy // restart: always (default), never, on-failure
	okCodes       []int         // exit-codes: the expected codes for restart on-failure (0)
	startSecs     time.Duration // start-secs: how long ./run must live to have started (1 s)
	startRetries  int           // start-retries: failed starts retried before giving up (-1, no file: never give up)
	priority      int           // priority: start order, and the reverse stop order (0 without the file)
	hasPriority   bool          // the priority file is there: the service takes part in that order
	// names are the directory's entries when it was read (nil: unknown).
	// Most of the files above are absent in most services: one listing
	// instead of a failed open or stat of each, twice per start.
	names map[string]bool
}

// has reports whether the directory had an entry name when the config was
// read; an unread directory has every name (the caller then tries it).
func (c config) has(name string) bool { return c.names == nil || c.names[name] }

// listNames reads the names in dir; nil when it cannot be read.
func listNames(dir string) map[string]bool {
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer f.Close()
	list, err := f.Readdirnames(-1)
	if err != nil {
		return nil
	}
	names := make(map[string]bool, len(list))
	for _, n := range list {
		names[n] = true
	}
	return names
}

func (c config) policy() policy {
	p := policy{kind: c.kind, maxRestarts: c.maxRestarts, essential: c.essential, undo: c.undo, healthMark: c.healthMark,
		restart: c.restart, okCodes: c.okCodes, startSecs: c.startSecs, startTries: c.startRetries + 1}
	if c.health.kind != probeNone {
		p.healthRetries = c.healthRetries
	}
	return p
}

func defaultConfig() config {
	return config{downSignal: unix.SIGTERM, timeoutFinish: 5 * time.Second, notifyFd: -1,
		healthEvery: 10 * time.Second, healthTimeout: 5 * time.Second, healthRetries: 3, startRetries: -1}
}

// readConfig reads the optional files of a service directory. A malformed
// file keeps its default and is reported, naming the file and the cause.
func readConfig(dir string) (config, []error) {
	c := defaultConfig()
	c.names = listNames(dir)
	var errs []error
	read := func(name string, parse func(string) error) {
		if !c.has(name) {
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if err == nil {
			err = parse(string(b))
		} else {
			err = errors.New(errstr.Text(err))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s/%s: %v", dir, name, err))
		}
	}
	read("down-signal", func(s string) (err error) { c.downSignal, err = parseSignal(s); return })
	read("timeout-kill", func(s string) (err error) { c.timeoutKill, err = parseMillis(s); return })
	read("timeout-finish", func(s string) (err error) { c.timeoutFinish, err = parseMillis(s); return })
	read("notification-fd", func(s string) (err error) { c.notifyFd, err = parseFd(s); return })
	read("depends", func(s string) (err error) { c.depends, err = parseDepends(s); return })
	read("max-restarts", func(s string) (err error) { c.maxRestarts, err = parseCount(s); return })
	stat := func(name string) (os.FileInfo, bool) {
		if !c.has(name) {
			return nil, false
		}
		st, err := os.Stat(filepath.Join(dir, name))
		return st, err == nil
	}
	if _, ok := stat("essential"); ok {
		c.essential = true
	}
	if _, ok := stat("down-group"); ok {
		c.downGroup = true
	}
	read("type", func(s string) (err error) { c.kind, err = parseType(s); return })
	read("schedule", func(s string) error {
		c.kind = scheduled
		sched, err := cron.ParseStandard(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("not a schedule (5-field cron, @hourly, @every 10m): %v", err)
		}
		c.schedule = sched
		return nil
	})
	if st, ok := stat("undo"); ok && st.Mode().IsRegular() {
		c.undo = true
	}
	if st, ok := stat("health"); ok && !st.IsDir() {
		c.health = probeSpec{kind: probeExec, target: filepath.Join(dir, "health")}
	}
	read("health-tcp", func(s string) (err error) { c.health, err = parseTCP(s); return })
	read("health-http", func(s string) (err error) { c.health, err = parseHTTP(s); return })
	read("health-interval", func(s string) (err error) { c.healthEvery, err = parseDuration(s, c.healthEvery); return })
	read("health-timeout", func(s string) (err error) { c.healthTimeout, err = parseDuration(s, c.healthTimeout); return })
	read("health-start-period", func(s string) (err error) { c.healthStart, err = parseDuration(s, 0); return })
	read("health-retries", func(s string) (err error) {
		n, err := parseCount(s)
		if err == nil && n == 0 {
			err = fmt.Errorf("not a number of failures from 1 up: %q", strings.TrimSpace(s))
		}
		if err == nil {
			c.healthRetries = n
		}
		return err
	})
	read("health-action", func(s string) error {
		switch strings.TrimSpace(s) {
		case "restart":
		case "mark":
			c.healthMark = true
		default:
			return fmt.Errorf("not an action (restart or mark): %q", strings.TrimSpace(s))
		}
		return nil
	})
	read("restart", func(s string) error {
		switch strings.TrimSpace(s) {
		case "always":
			c.restart = restartAlways
		case "never":
			c.restart = restartNever
		case "on-failure":
			c.restart = restartOnFailure
		default:
			return fmt.Errorf("not a restart policy (always, never or on-failure): %q", strings.TrimSpace(s))
		}
		return nil
	})
	read("exit-codes", func(s string) error {
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 || n > 255 {
				return fmt.Errorf("not an exit code (0-255): %q", f)
			}
			c.okCodes = append(c.okCodes, n)
		}
		return nil
	})
	read("start-secs", func(s string) (err error) {
		if strings.TrimSpace(s) == "0" { // supervisord's startsecs=0: no exit is a failed start
			c.startSecs = time.Nanosecond
			return nil
		}
		c.startSecs, err = parseDuration(s, 0)
		return
	})
	read("start-retries", func(s string) (err error) {
		if c.startRetries, err = parseCount(s); err != nil {
			c.startRetries = -1
		}
		return
	})
	read("priority", func(s string) error {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("not a whole number: %q", strings.TrimSpace(s))
		}
		c.priority, c.hasPriority = n, true
		return nil
	})
	read("check-tcp", func(s string) (err error) { c.check, err = parseTCP(s); return })
	read("check-http", func(s string) (err error) { c.check, err = parseHTTP(s); return })
	return c, errs
}

// parseType reads the type file: longrun or oneshot (s6-rc's words).
func parseType(s string) (kind, error) {
	switch strings.TrimSpace(s) {
	case "longrun":
		return longrun, nil
	case "oneshot":
		return oneshot, nil
	}
	return longrun, fmt.Errorf("not a service type (longrun or oneshot): %q", strings.TrimSpace(s))
}

// parseDuration reads a duration: "10s", "500ms", "1m30s", or a whole
// number of milliseconds (as s6's timeout files). It must be positive.
func parseDuration(s string, def time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseUint(s, 10, 31); err == nil && n > 0 {
		return time.Duration(n) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return def, fmt.Errorf("not a duration (10s, 500ms, or milliseconds): %q", s)
	}
	return d, nil
}

// parseSignal reads "TERM", "SIGTERM" or "15".
func parseSignal(s string) (unix.Signal, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return unix.SIGTERM, fmt.Errorf("no signal %d (1-64)", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return unix.SIGTERM, fmt.Errorf("unknown signal %q", s)
}

// parseMillis reads a whole number of milliseconds.
func parseMillis(s string) (time.Duration, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 31)
	if err != nil {
		return 0, fmt.Errorf("not a number of milliseconds: %q", strings.TrimSpace(s))
	}
	return time.Duration(n) * time.Millisecond, nil
}

// parseFd reads a file descriptor number for notification-fd: 3 or more.
func parseFd(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 3 || n > 1023 {
		return -1, fmt.Errorf("not a file descriptor number from 3 to 1023: %q", strings.TrimSpace(s))
	}
	return n, nil
}

func parseCount(s string) (int, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 31)
	if err != nil {
		return 0, fmt.Errorf("not a whole number: %q", strings.TrimSpace(s))
	}
	return int(n), nil
}

// parseDepends reads one service name a line; blank lines and # comments
// are skipped.
func parseDepends(s string) ([]string, error) {
	var names []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsRune(line, '/') || strings.HasPrefix(line, ".") {
			return nil, fmt.Errorf("not a service name: %q", line)
		}
		names = append(names, line)
	}
	return names, nil
}
