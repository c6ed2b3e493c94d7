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
//
// The goroutine waits in the Go runtime's own netpoller: the epoll fd,
// non-blocking, is itself watched there (an epoll fd is readable while it
// has events), so no thread sleeps in epoll_wait. A ready fd wakes the one
// thread that sleeps in the runtime's netpoller, which runs the poller's
// goroutine and, on the same thread, the goroutine the work is handed to
// (the supervisor's loop) — where a thread blocked in epoll_wait would have
// held the only P in its system call until the runtime's monitor thread took
// it back (20 µs at the least) and woke a third thread to run the loop.
package poller

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Token names one registration.
type Token uint32

// Poller watches many fds.
type Poller struct {
	epfd  int
	file  *os.File        // epfd in the runtime's netpoller (kept: its finalizer would close epfd)
	rc    syscall.RawConn // nil: wait in a blocking epoll_wait instead
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
	if unix.SetNonblock(fd, true) == nil {
		p.file = os.NewFile(uintptr(fd), "epoll")
		p.rc, _ = p.file.SyscallConn()
	}
	go p.wait()
	return p, nil
}

// Readiness to wait for: In (readable, the default of Add and Rearm) or
// Out (writable: a connect that completed or failed).
const (
	In  = unix.EPOLLIN
	Out = unix.EPOLLOUT
)

// Add watches fd: ready runs (on the poller's goroutine) when fd is
// readable, once until Rearm.
func (p *Poller) Add(fd int, ready func(Token)) (Token, error) { return p.AddFor(fd, In, ready) }

// AddFor is Add for the readiness in events (In, Out).
func (p *Poller) AddFor(fd int, events uint32, ready func(Token)) (Token, error) {
	p.mu.Lock()
	p.next++
	tok := p.next
	p.ready[tok] = ready
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: events | unix.EPOLLONESHOT, Fd: int32(tok)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.ready, tok)
		p.mu.Unlock()
		return 0, err
	}
	return tok, nil
}

// Rearm asks for the next readiness of fd.
func (p *Poller) Rearm(fd int, tok Token) { p.RearmFor(fd, tok, In) }

// RearmFor is Rearm for the readiness in events (In, Out).
func (p *Poller) RearmFor(fd int, tok Token, events uint32) {
	ev := unix.EpollEvent{Events: events | unix.EPOLLONESHOT, Fd: int32(tok)}
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
		n, err := p.epollWait(events)
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

// epollWait waits for events, parked in the runtime's netpoller until epfd
// is readable. Should the runtime refuse to watch epfd, it waits in a
// blocking epoll_wait from then on (epfd stays non-blocking: a timeout of
// -1 blocks all the same).
func (p *Poller) epollWait(events []unix.EpollEvent) (int, error) {
	if p.rc == nil {
		return unix.EpollWait(p.epfd, events, -1)
	}
	var n int
	var err error
	rerr := p.rc.Read(func(fd uintptr) bool {
		n, err = epollWaitNow(int(fd), events)
		return n > 0 || err != nil
	})
	if rerr != nil {
		p.rc = nil
		return unix.EpollWait(p.epfd, events, -1)
	}
	return n, err
}

// epollWaitNow is epoll_wait with a timeout of 0 as a raw system call: it
// never blocks, and unlike unix.EpollWait it does not tell the runtime it
// enters a system call, which would wake the runtime's sleeping monitor
// thread (sysmon) at every control byte.
func epollWaitNow(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
