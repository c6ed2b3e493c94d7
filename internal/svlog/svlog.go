// Package svlog writes svinit's own messages in the classic daemontools style:
// "svinit: warning: unable to start /service/web/run: exec format error".
package svlog

import (
	"fmt"
	"io"
	"os"
	"sync"
)

var (
	mu   sync.Mutex
	out  io.Writer = os.Stderr
	name           = "svinit"
)

// SetOutput sends messages to w (tests use it).
func SetOutput(w io.Writer) {
	mu.Lock()
	defer mu.Unlock()
	out = w
}

// SetName sets the program name that starts every message.
func SetName(n string) {
	mu.Lock()
	defer mu.Unlock()
	name = n
}

func write(level, format string, args []any) {
	msg := fmt.Sprintf(format, args...)
	mu.Lock()
	defer mu.Unlock()
	if level == "" {
		fmt.Fprintf(out, "%s: %s\n", name, msg)
		return
	}
	fmt.Fprintf(out, "%s: %s: %s\n", name, level, msg)
}

// Info reports a normal event (a start, an exit).
func Info(format string, args ...any) { write("info", format, args) }

// Warn reports a problem svinit carries on after.
func Warn(format string, args ...any) { write("warning", format, args) }

// Fatal reports the problem that makes the caller stop.
func Fatal(format string, args ...any) { write("fatal", format, args) }
