// Package logmux copies the services' output to svinit's own stdout and
// stderr, a line at a time with the service's name in front (svlog.Line).
// One goroutine reads every pipe through one epoll set; the pipes are made
// once per service and held open by svinit, so a restart loses no line.
package logmux

import (
	"bytes"
	"errors"
	"os"
	"sync"

	"github.com/svinit/svinit/internal/svlog"
	"golang.org/x/sys/unix"
)

// MaxLine is the longest line kept whole; a longer one is cut into pieces
// of this size.
const MaxLine = 64 << 10

// Mux reads many pipes.
type Mux struct {
	epfd  int
	mu    sync.Mutex
	next  uint32
	pipes map[uint32]*Pipe
}

// Pipe is one stream of one service: svinit keeps W open and gives it to
// the service's processes as fd 1 or 2.
type Pipe struct {
	W       *os.File
	r       int // the read end, non-blocking; never an *os.File, whose Fd() would make it blocking
	service string
	stream  string
	partial []byte
	tok     uint32
}

// New starts the copying goroutine.
func New() (*Mux, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	m := &Mux{epfd: fd, pipes: map[uint32]*Pipe{}}
	go m.run()
	return m, nil
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
	m.mu.Lock()
	m.next++
	p := &Pipe{W: os.NewFile(uintptr(fds[1]), service+" "+stream), r: fds[0], service: service, stream: stream, tok: m.next}
	m.pipes[p.tok] = p
	m.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(p.tok)}
	if err := unix.EpollCtl(m.epfd, unix.EPOLL_CTL_ADD, p.r, &ev); err != nil {
		m.drop(p)
		return nil, err
	}
	return p, nil
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
	_ = unix.EpollCtl(m.epfd, unix.EPOLL_CTL_DEL, p.r, nil)
	delete(m.pipes, p.tok)
	unix.Close(p.r)
}

func (m *Mux) drop(p *Pipe) {
	m.mu.Lock()
	delete(m.pipes, p.tok)
	m.mu.Unlock()
	unix.Close(p.r)
	p.W.Close()
}

func (m *Mux) run() {
	events := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(m.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		m.mu.Lock()
		for _, ev := range events[:n] {
			if p := m.pipes[uint32(ev.Fd)]; p != nil {
				m.copy(p)
			}
		}
		m.mu.Unlock()
	}
}

var readBuf = make([]byte, 64<<10)

// copy reads what the pipe has and writes every whole line.
func (m *Mux) copy(p *Pipe) {
	for {
		n, err := unix.Read(p.r, readBuf)
		if n <= 0 || err != nil {
			return
		}
		m.lines(p, readBuf[:n])
	}
}

func (m *Mux) lines(p *Pipe, b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			for len(p.partial) >= MaxLine {
				svlog.Line(p.service, p.stream, p.partial[:MaxLine])
				p.partial = append(p.partial[:0], p.partial[MaxLine:]...)
			}
			return
		}
		if len(p.partial) > 0 {
			p.partial = append(p.partial, b[:i]...)
			svlog.Line(p.service, p.stream, p.partial)
			p.partial = p.partial[:0]
		} else {
			svlog.Line(p.service, p.stream, b[:i])
		}
		b = b[i+1:]
	}
}

// flush writes an unfinished last line.
func (m *Mux) flush(p *Pipe) {
	if len(p.partial) > 0 {
		svlog.Line(p.service, p.stream, p.partial)
		p.partial = nil
	}
}
