// Package multilog is daemontools' multilog: it reads lines on stdin and
// runs a script of actions on each — select lines with patterns, stamp
// them, print them to stderr, append them to log directories with
// automatic rotation.
package multilog

import (
	"fmt"
	"strconv"
	"strings"
)

// Action kinds of a script.
type kind int

const (
	actSelect   kind = iota // +pattern
	actDeselect             // -pattern
	actStderr               // e
	actDir                  // ./dir or /dir
)

type action struct {
	kind    kind
	pattern string
	dir     *logDir
}

// Script is a parsed multilog command line.
type Script struct {
	Stamp   byte // 't' (TAI64N), 'T' (ISO 8601, ours) or 0
	actions []action
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
			s.actions = append(s.actions, action{kind: actDir, dir: &logDir{path: a, size: size, num: num}})
		default:
			return nil, fmt.Errorf("unrecognized action: %q", a)
		}
	}
	return s, nil
}

// Dirs are the log directories of the script, in order.
func (s *Script) Dirs() []*logDir {
	var out []*logDir
	for _, a := range s.actions {
		if a.kind == actDir {
			out = append(out, a.dir)
		}
	}
	return out
}

// match is daemontools' pattern rule: the whole line must match; '*'
// matches any run of characters up to the first one equal to the
// character after the '*' in the pattern (a '*' at the end matches the rest).
func match(pattern, line string) bool {
	for {
		if pattern == "" {
			return line == ""
		}
		c := pattern[0]
		pattern = pattern[1:]
		if c == '*' {
			if pattern == "" {
				return true
			}
			i := strings.IndexByte(line, pattern[0])
			if i < 0 {
				return false
			}
			line = line[i:]
			continue
		}
		if line == "" || line[0] != c {
			return false
		}
		line = line[1:]
	}
}
