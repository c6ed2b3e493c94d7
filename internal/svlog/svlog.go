// Package svlog writes svinit's output: its own messages in the classic
// daemontools style ("svinit: warning: unable to start /service/web/run:
// exec format error") and the services' lines prefixed with their name
// ("memcached: ..."), as text or as one JSON object a line. Every line is
// written whole, under one lock, so lines never interleave.
package svlog

import (
	"bytes"
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
	w := streamWriter(stream)
	if jsonOut {
		writeJSON(w, record{Service: service, Stream: stream, Message: string(msg)})
		return
	}
	out := append(append(append(append(batch[:0], service...), ": "...), msg...), '\n')
	_, _ = w.Write(out)
	keep(out)
}

// Lines writes lines a service wrote on stream: b is whole lines, each
// ending in a newline. They go out in as few writes as keep every line whole
// within one write of at most batchMax bytes (a longer line is a write of
// its own), so a line still never interleaves with another writer's.
func Lines(service, stream string, b []byte) {
	mu.Lock()
	defer mu.Unlock()
	w := streamWriter(stream)
	out := batch[:0]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n') + 1
		if i == 0 {
			i = len(b)
		}
		if jsonOut {
			writeJSON(w, record{Service: service, Stream: stream, Message: string(bytes.TrimSuffix(b[:i], newline))})
			b = b[i:]
			continue
		}
		if len(out) > 0 && len(out)+len(service)+2+i > batchMax {
			_, _ = w.Write(out)
			out = out[:0]
		}
		out = append(append(append(out, service...), ": "...), b[:i]...)
		b = b[i:]
	}
	if len(out) > 0 {
		_, _ = w.Write(out)
	}
	keep(out)
}

// batchMax is the most Lines puts in one write: PIPE_BUF, what Linux writes
// to a pipe in one piece.
const batchMax = 4096

// batch is the buffer Line and Lines build their writes in (under mu).
var batch = make([]byte, 0, batchMax)

var newline = []byte{'\n'}

// keep reuses out's memory for the next write, unless a long line made it
// bigger than a batch.
func keep(out []byte) {
	if cap(out) <= batchMax {
		batch = out[:0]
	}
}

func streamWriter(stream string) io.Writer {
	if stream == "stderr" {
		return stderr
	}
	return stdout
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
