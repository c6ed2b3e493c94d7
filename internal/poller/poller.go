// Package poller is svinit's one way of waiting for many file descriptors:
// one epoll set and one goroutine, instead of a goroutine per fd (a few KiB
// each). It serves the supervisor (control FIFOs, readiness pipes: their
// work must run on the event loop) and the log copier (the services'
// output: copied at once, without waiting for the loop).
//
// Every registration is one-shot (EPOLLONESHOT): when its fd is readable
// the poller calls its function once, on the poller's goroutine, and waits
// for Rearm before calling it again. A token names the registration, so a
// caller that hands the work to another goroutine can check, with Live,
// that the registration is still the same one when the work runs — an fd
// closed and reused meanwhile is never read on behalf of the wrong owner.
package poller

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"
)

// Token names one registration.
type Token uint32

// Poller watches many fds.
type Poller struct {
	epfd  int
	mu    sync.Mutex
	next  Token
	ready map[Token]func(Token)
}

// New makes the epoll set and starts the goroutine that waits on it.
func New() (*Poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &Poller{epfd: fd, ready: map[Token]func(Token){}}
	go p.wait()
	return p, nil
}

// Add watches fd: ready runs (on the poller's goroutine) when fd is
// readable, once until Rearm.
func (p *Poller) Add(fd int, ready func(Token)) (Token, error) {
	p.mu.Lock()
	p.next++
	tok := p.next
	p.ready[tok] = ready
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(tok)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.ready, tok)
		p.mu.Unlock()
		return 0, err
	}
	return tok, nil
}

// Rearm asks for the next readiness of fd.
func (p *Poller) Rearm(fd int, tok Token) {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(tok)}
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
}

// Remove stops watching fd; call it before closing fd.
func (p *Poller) Remove(fd int, tok Token) {
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	p.mu.Lock()
	delete(p.ready, tok)
	p.mu.Unlock()
}

// Live reports whether tok is still registered (not removed).
func (p *Poller) Live(tok Token) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready[tok] != nil
}

func (p *Poller) wait() {
	events := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			tok := Token(ev.Fd)
			p.mu.Lock()
			f := p.ready[tok]
			p.mu.Unlock()
			if f != nil {
				f(tok)
			}
		}
	}
}
