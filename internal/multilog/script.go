// Package multilog is daemontools' multilog: it reads lines on stdin and
// runs a script of actions on each — select lines with patterns, stamp
// them, print them to stderr, keep the last one in a status file, append
// them to log directories with automatic rotation.
package multilog

import (
	"bytes"
	"fmt"
	"strconv"
)

// Action kinds of a script.
type kind int

const (
	actSelect   kind = iota // +pattern
	actDeselect             // -pattern
	actStderr               // e
	actDir                  // ./dir or /dir
	actStatus               // =file
)

type action struct {
	kind    kind
	pattern string
	dir     *logDir
	status  *statusFile
}

// Script is a parsed multilog command line.
type Script struct {
	Stamp   byte // 't' (TAI64N), 'T' (ISO 8601, ours) or 0
	actions []action
	dirs    []*logDir // the directories, in order
	buf     []byte    // a stamped line
}

// Defaults of sSIZE and nNUM, and their bounds (daemontools').
const (
	defaultSize = 99999
	defaultNum  = 10
	minSize     = 4096
	maxSize     = 16777215
	minNum      = 2
)

// Parse reads the script. The stamp action must come first, as in
// daemontools. Errors name the bad argument.
func Parse(args []string) (*Script, error) {
	s := &Script{}
	size, num := defaultSize, defaultNum
	for i, a := range args {
		switch {
		case a == "":
			return nil, fmt.Errorf("empty action")
		case (a == "t" || a == "T") && i == 0:
			s.Stamp = a[0]
		case a == "t" || a == "T":
			return nil, fmt.Errorf("%s must be the first action", a)
		case a == "e":
			s.actions = append(s.actions, action{kind: actStderr})
		case a[0] == '+' || a[0] == '-':
			k := actSelect
			if a[0] == '-' {
				k = actDeselect
			}
			s.actions = append(s.actions, action{kind: k, pattern: a[1:]})
		case a[0] == 's':
			n, err := strconv.Atoi(a[1:])
			if err != nil {
				return nil, fmt.Errorf("not a size: %q", a)
			}
			size = min(max(n, minSize), maxSize)
		case a[0] == 'n':
			n, err := strconv.Atoi(a[1:])
			if err != nil {
				return nil, fmt.Errorf("not a number of files: %q", a)
			}
			num = max(n, minNum)
		case a[0] == '.' || a[0] == '/':
			d := &logDir{path: a, size: size, num: num}
			s.actions = append(s.actions, action{kind: actDir, dir: d})
			s.dirs = append(s.dirs, d)
		case a[0] == '=':
			s.actions = append(s.actions, action{kind: actStatus, status: &statusFile{path: a[1:]}})
		default:
			return nil, fmt.Errorf("unrecognized action: %q", a)
		}
	}
	return s, nil
}

// open opens the status files and the directories; on failure, it closes
// what it opened.
func (s *Script) open() error {
	for _, a := range s.actions {
		var err error
		switch a.kind {
		case actStatus:
			err = a.status.open()
		case actDir:
			err = a.dir.open()
		}
		if err != nil {
			s.close()
			return err
		}
	}
	return nil
}

func (s *Script) close() {
	for _, a := range s.actions {
		switch a.kind {
		case actStatus:
			a.status.close()
		case actDir:
			a.dir.close()
		}
	}
}

// match is daemontools' pattern rule: the whole line must match; '*'
// matches any run of characters up to the first one equal to the
// character after the '*' in the pattern (a '*' at the end matches the rest).
func match(pattern string, line []byte) bool {
	for {
		if pattern == "" {
			return len(line) == 0
		}
		c := pattern[0]
		pattern = pattern[1:]
		if c == '*' {
			if pattern == "" {
				return true
			}
			i := bytes.IndexByte(line, pattern[0])
			if i < 0 {
				return false
			}
			line = line[i:]
			continue
		}
		if len(line) == 0 || line[0] != c {
			return false
		}
		line = line[1:]
	}
}
