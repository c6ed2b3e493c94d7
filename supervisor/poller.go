package supervisor

import (
	"errors"

	"golang.org/x/sys/unix"
)

// poller watches every service's control FIFO with one epoll set and one
// goroutine, instead of a goroutine per service (a few KiB each). The
// goroutine only reports which FIFO is readable; the loop reads it and
// re-arms it (EPOLLONESHOT), so an fd closed and reused meanwhile is never
// read on behalf of the wrong service.
type poller struct {
	epfd  int
	next  uint32              // token of the next registration
	ready func(token uint32)  // posts to the loop
	byTok map[uint32]*service // owned by the loop
}

func newPoller(ready func(uint32)) (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &poller{epfd: fd, ready: ready, byTok: map[uint32]*service{}}
	go p.wait()
	return p, nil
}

// add watches v's control FIFO; it returns the token to re-arm it with.
func (p *poller) add(v *service, fd int) (uint32, error) {
	p.next++
	tok := p.next
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(tok)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return 0, err
	}
	p.byTok[tok] = v
	return tok, nil
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
