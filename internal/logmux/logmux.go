// Package logmux copies the services' output to svinit's own stdout and
// stderr, a line at a time with the service's name in front (svlog.Line).
// The pipes are read on the goroutine of a poller (internal/poller), as
// soon as they are readable, never waiting for the event loop; they are made
// once per service and held open by svinit, so a restart loses no line.
package logmux

import (
	"bytes"
	"os"
	"sync"

	"github.com/svinit/svinit/internal/poller"

	"github.com/svinit/svinit/internal/svlog"
	"golang.org/x/sys/unix"
)

// MaxLine is the longest line kept whole; a longer one is cut into pieces
// of this size.
const MaxLine = 64 << 10

// Mux reads many pipes.
type Mux struct {
	poll  *poller.Poller
	mu    sync.Mutex
	pipes map[poller.Token]*Pipe
	buf   []byte // copy's read buffer: made by New, not at package init (every applet's start)
}

// Pipe is one stream of one service: svinit keeps W open and gives it to
// the service's processes as fd 1 or 2.
type Pipe struct {
	W       *os.File
	r       int // the read end, non-blocking; never an *os.File, whose Fd() would make it blocking
	service string
	stream  string
	partial []byte
	tok     poller.Token
}

// New starts the poller the copying runs on.
func New() (*Mux, error) {
	p, err := poller.New()
	if err != nil {
		return nil, err
	}
	return &Mux{poll: p, pipes: map[poller.Token]*Pipe{}, buf: make([]byte, 64<<10)}, nil
}

// Add makes a pipe whose lines come out as "service: line" on stream.
func (m *Mux) Add(service, stream string) (*Pipe, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, err
	}
	p := &Pipe{W: os.NewFile(uintptr(fds[1]), service+" "+stream), r: fds[0], service: service, stream: stream}
	// Under the lock until registered: the first readiness waits for it.
	m.mu.Lock()
	defer m.mu.Unlock()
	tok, err := m.poll.Add(p.r, m.readable)
	if err != nil {
		unix.Close(p.r)
		p.W.Close()
		return nil, err
	}
	p.tok = tok
	m.pipes[tok] = p
	return p, nil
}

// readable copies what a pipe has (on the poller's goroutine) and asks for
// more, unless the pipe was closed meanwhile.
func (m *Mux) readable(tok poller.Token) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.pipes[tok]; p != nil {
		m.copy(p)
		m.poll.Rearm(p.r, tok)
	}
}

// Close stops a pipe: what is still in it is copied first, then both ends
// are closed.
func (m *Mux) Close(p *Pipe) {
	p.W.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.pipes[p.tok]; !ok {
		return
	}
	m.copy(p)
	m.flush(p)
	m.poll.Remove(p.r, p.tok)
	delete(m.pipes, p.tok)
	unix.Close(p.r)
}

// copy reads what the pipe has and writes every whole line.
func (m *Mux) copy(p *Pipe) {
	for {
		n, err := unix.Read(p.r, m.buf)
		if n <= 0 || err != nil {
			return
		}
		m.lines(p, m.buf[:n])
	}
}

// lines writes the lines b ends, the whole ones in few writes (svlog.Lines),
// and keeps what follows the last newline for the next read.
func (m *Mux) lines(p *Pipe, b []byte) {
	if len(p.partial) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			m.keepPartial(p, b)
			return
		}
		p.partial = append(p.partial, b[:i]...)
		svlog.Line(p.service, p.stream, p.partial)
		p.partial = p.partial[:0]
		b = b[i+1:]
	}
	end := bytes.LastIndexByte(b, '\n') + 1
	if end > 0 {
		svlog.Lines(p.service, p.stream, b[:end])
	}
	if end < len(b) {
		m.keepPartial(p, b[end:])
	}
}

// keepPartial keeps the start of a line; what reaches MaxLine is written in
// pieces of that size.
func (m *Mux) keepPartial(p *Pipe, b []byte) {
	p.partial = append(p.partial, b...)
	for len(p.partial) >= MaxLine {
		svlog.Line(p.service, p.stream, p.partial[:MaxLine])
		p.partial = append(p.partial[:0], p.partial[MaxLine:]...)
	}
}

// flush writes an unfinished last line.
func (m *Mux) flush(p *Pipe) {
	if len(p.partial) > 0 {
		svlog.Line(p.service, p.stream, p.partial)
		p.partial = nil
	}
}
