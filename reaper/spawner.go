package reaper

import (
	"fmt"
	"os"
	"runtime"

	"github.com/svinit/svinit/internal/errstr"

	"golang.org/x/sys/unix"
)

// spawner forks every child on one OS thread that has an fd table of its
// own (unshare(CLONE_FILES)), made before the supervisor opens anything.
//
// Why: a fork copies the caller's fd table and the exec then closes every
// close-on-exec fd in the copy, one by one. A supervisor holds three fds per
// service (lock, control, ok) and more for log pipes, so with the shared
// table each start costs O(services): at 1,000 services about 4,000 closes
// per start (perf: filp_flush, dnotify_flush, locks_remove_posix, dup_fd
// were half of svinit's start-up CPU), at 10,000 ten times that per start,
// a hundred times in all. The spawner's table holds what was open when it
// was made (the Go runtime's own fds among them, which it may touch on any
// thread) and its end of a socket pair; the fds one start needs (stdin,
// the output pipes, a notification pipe) come over that socket
// (SCM_RIGHTS) and are closed again after the fork.
//
// The children are svinit's own, as with a fork on any other thread: their
// exits go to the same wait4(-1) (the thread never ends, so no
// parent-death signal is ever set off by it).
type spawner struct {
	reqs chan spawnReq
	sock int // svinit's end, in the shared table
}

type spawnReq struct {
	s     Spec
	slots []int // s.Files[i] is the slots[i]-th fd sent; -1: none
	reply chan spawnResult
}

type spawnResult struct {
	pid int
	err error
}

// spawnerFrom is the number of fds held from which Start forks through
// the spawner: below it, the fork's copy and the exec's closes (~90 ns a
// fd) cost less than handing the start to the spawner's thread and back
// (two thread wake-ups: ~10 µs on an idle machine, a scheduler slice on a
// busy one).
const spawnerFrom = 256

// FdsHeld tells the reaper about how many fds the caller holds open (the
// supervisor: 8 per service); with a spawner, Start uses it from
// spawnerFrom on.
func (r *Reaper) FdsHeld(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fdsHeld = n
}

// UseSpawner makes Start fork on a thread of its own with a small fd table
// (see spawner) once FdsHeld says enough fds are open. Call it early, before the many fds of the services are
// open: whatever is open now stays open in the spawner's table for svinit's
// life. Without it (or when it fails) Start forks on the caller's thread.
func (r *Reaper) UseSpawner() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spawner != nil {
		return nil
	}
	sp, err := newSpawner()
	if err != nil {
		return err
	}
	r.spawner = sp
	return nil
}

func newSpawner() (*spawner, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("unable to make the spawner's socket pair: %s", errstr.Text(err))
	}
	// The runtime's poller (its epoll fd and wake-up eventfd) must exist
	// before the table is copied: the runtime uses them on any thread, the
	// spawner's too (a garbage collection started there polls; an epoll fd
	// missing from its table is a fatal error). A pipe opened as *os.File is
	// registered with the poller, which makes it.
	if pr, pw, err := os.Pipe(); err == nil {
		pr.Close()
		pw.Close()
	} else {
		return nil, fmt.Errorf("unable to make the spawner: pipe: %s", errstr.Text(err))
	}
	sp := &spawner{reqs: make(chan spawnReq), sock: fds[0]}
	ready := make(chan error)
	go sp.run(fds[1], ready)
	if err := <-ready; err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, err
	}
	unix.Close(fds[1]) // the spawner has its own copy
	return sp, nil
}

// run is the spawner's thread: it never returns once the table is its own.
func (sp *spawner) run(sock int, ready chan<- error) {
	runtime.LockOSThread() // for good: the thread's fd table is not the process's
	if err := unix.Unshare(unix.CLONE_FILES); err != nil {
		ready <- fmt.Errorf("unable to give the spawner an fd table of its own: unshare: %s", errstr.Text(err))
		runtime.UnlockOSThread()
		return
	}
	unix.Close(sp.sock) // svinit's end, in this table only
	ready <- nil
	buf := make([]byte, 1)
	for req := range sp.reqs {
		oob := make([]byte, unix.CmsgSpace(4*len(req.slots)))
		var got []int
		_, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == nil {
			got, err = parseRights(oob[:oobn])
		}
		if err != nil {
			closeAll(got)
			req.reply <- spawnResult{err: &StartError{Path: req.s.Path, Err: err}}
			continue
		}
		s := req.s
		s.Files = make([]uintptr, len(req.slots))
		for i, slot := range req.slots {
			s.Files[i] = ^uintptr(0)
			if slot >= 0 && slot < len(got) {
				s.Files[i] = uintptr(got[slot])
			}
		}
		pid, err := spawnHere(s)
		closeAll(got)
		req.reply <- spawnResult{pid, err}
	}
	unix.Close(sock) // the thread, locked, ends with the goroutine, and its table with it
}

// close ends the spawner's thread (Reaper.Close).
func (sp *spawner) close() {
	close(sp.reqs)
	unix.Close(sp.sock)
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		f, err := unix.ParseUnixRights(&m)
		if err != nil {
			return fds, err
		}
		fds = append(fds, f...)
	}
	return fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// spawn hands s to the spawner's thread with the fds it names.
func (sp *spawner) spawn(s Spec) (int, error) {
	files := s.Files
	if files == nil {
		files = []uintptr{0, 1, 2}
	}
	var send []int
	slots := make([]int, len(files))
	for i, f := range files {
		slots[i] = -1
		if f == ^uintptr(0) {
			continue
		}
		slots[i] = len(send)
		for j, g := range send { // each fd once
			if uintptr(g) == f {
				slots[i] = j
			}
		}
		if slots[i] == len(send) {
			send = append(send, int(f))
		}
	}
	if err := unix.Sendmsg(sp.sock, []byte{0}, unix.UnixRights(send...), nil, 0); err != nil {
		return 0, &StartError{Path: s.Path, Err: fmt.Errorf("unable to pass its fds to the spawner: %w", err)}
	}
	reply := make(chan spawnResult, 1)
	sp.reqs <- spawnReq{s: s, slots: slots, reply: reply}
	res := <-reply
	return res.pid, res.err
}
