package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
}

func (c config) policy() policy { return policy{maxRestarts: c.maxRestarts, essential: c.essential} }

func defaultConfig() config {
	return config{downSignal: unix.SIGTERM, timeoutFinish: 5 * time.Second, notifyFd: -1}
}

// readConfig reads the optional files of a service directory. A malformed
// file keeps its default and is reported, naming the file and the cause.
func readConfig(dir string) (config, []error) {
	c := defaultConfig()
	var errs []error
	read := func(name string, parse func(string) error) {
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
	if _, err := os.Stat(filepath.Join(dir, "essential")); err == nil {
		c.essential = true
	}
	if _, err := os.Stat(filepath.Join(dir, "down-group")); err == nil {
		c.downGroup = true
	}
	return c, errs
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
