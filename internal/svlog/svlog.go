// Package svlog writes svinit's output: its own messages in the classic
// daemontools style ("svinit: warning: unable to start /service/web/run:
// exec format error") and the services' lines prefixed with their name
// ("memcached: ..."), as text or as one JSON object a line. Every line is
// written whole, under one lock, so lines never interleave.
package svlog

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

var (
	mu      sync.Mutex
	stdout  io.Writer = os.Stdout
	stderr  io.Writer = os.Stderr
	name              = "svinit" // starts every message of svinit's own
	jsonOut bool
	tracing bool
)

// SetTrace turns on Trace lines (svinit --trace).
func SetTrace(on bool) {
	mu.Lock()
	defer mu.Unlock()
	tracing = on
}

// Tracing reports whether Trace lines are written (so callers can skip
// building them).
func Tracing() bool {
	mu.Lock()
	defer mu.Unlock()
	return tracing
}

// Trace reports one life-cycle decision (--trace): written only when on.
func Trace(format string, args ...any) {
	if Tracing() {
		write("trace", format, args)
	}
}

// SetJSON switches to one JSON object a line: time, service, stream, message.
func SetJSON(on bool) {
	mu.Lock()
	defer mu.Unlock()
	jsonOut = on
}

// record is one line in --log-format json.
type record struct {
	Time    string `json:"time"`
	Service string `json:"service"`
	Stream  string `json:"stream"`
	Level   string `json:"level,omitempty"`
	Message string `json:"message"`
}

// Line writes one line a service wrote on stream ("stdout" or "stderr").
func Line(service, stream string, msg []byte) {
	mu.Lock()
	defer mu.Unlock()
	w := stdout
	if stream == "stderr" {
		w = stderr
	}
	if jsonOut {
		writeJSON(w, record{Service: service, Stream: stream, Message: string(msg)})
		return
	}
	buf := make([]byte, 0, len(service)+len(msg)+3)
	buf = append(append(append(buf, service...), ": "...), msg...)
	_, _ = w.Write(append(buf, '\n'))
}

func writeJSON(w io.Writer, r record) {
	r.Time = time.Now().UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(r)
	_, _ = w.Write(append(b, '\n'))
}

func write(level, format string, args []any) {
	msg := fmt.Sprintf(format, args...)
	mu.Lock()
	defer mu.Unlock()
	if jsonOut {
		writeJSON(stderr, record{Service: name, Stream: "stderr", Level: level, Message: msg})
		return
	}
	fmt.Fprintf(stderr, "%s: %s: %s\n", name, level, msg)
}

// Info reports a normal event (a start, an exit).
func Info(format string, args ...any) { write("info", format, args) }

// Warn reports a problem svinit carries on after.
func Warn(format string, args ...any) { write("warning", format, args) }

// Fatal reports the problem that makes the caller stop.
func Fatal(format string, args ...any) { write("fatal", format, args) }
