package supervisor

import (
	"errors"

	"golang.org/x/sys/unix"
)

// poller watches many fds (every control FIFO, every readiness pipe) with
// one epoll set and one goroutine, instead of a goroutine per fd (a few KiB
// each). The goroutine only reports which fd is readable; the loop reads it
// and re-arms it (EPOLLONESHOT), so an fd closed and reused meanwhile is
// never read on behalf of the wrong owner.
type poller struct {
	epfd  int
	next  uint32            // token of the next registration
	ready func(tok uint32)  // posts to the loop
	byTok map[uint32]func() // owned by the loop: what to do when readable
}

func newPoller(ready func(uint32)) (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &poller{epfd: fd, ready: ready, byTok: map[uint32]func(){}}
	go p.wait()
	return p, nil
}

// add watches fd; onReady runs on the loop when it is readable, and must
// re-arm or remove it.
func (p *poller) add(fd int, onReady func()) (uint32, error) {
	p.next++
	tok := p.next
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(tok)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return 0, err
	}
	p.byTok[tok] = onReady
	return tok, nil
}

// fire runs the callback of a readable fd (on the loop).
func (p *poller) fire(tok uint32) {
	if f := p.byTok[tok]; f != nil {
		f()
	}
}

// rearm asks for the next readiness of fd.
func (p *poller) rearm(fd int, tok uint32) {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(tok)}
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
}

// remove stops watching fd; call it before closing fd.
func (p *poller) remove(fd int, tok uint32) {
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	delete(p.byTok, tok)
}

func (p *poller) wait() {
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
			p.ready(uint32(ev.Fd))
		}
	}
}
