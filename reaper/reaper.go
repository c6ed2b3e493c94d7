package reaper

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/svinit/svinit/internal/svlog"
	"golang.org/x/sys/unix"
)

// Reaper owns svinit's children. Start forks and registers a process; one
// goroutine, the waiter, waits until some child has ended and then reaps
// with wait4(-1, WNOHANG) — the only wait4(-1) in svinit. Exits of processes
// started with Start are queued for the event loop; every other exit is an
// orphan, counted and forgotten without waking the loop.
//
// The waiter blocks in waitid outside the Go scheduler and reaps orphans
// there itself (orphans.go: one thread wake-up, waitid and wait4 per orphan,
// as tini's sigtimedwait and waitpid). Not on SIGCHLD: each signal wakes a chain of goroutines
// and threads in the Go runtime.
//
// Start and the reaping hold one lock, so a pid is looked up before it can be
// used again: an exit can never be taken for a newer process with the same
// pid; reapOrphans takes no lock but reaps only pids no Start has handed out.
type Reaper struct {
	mu      sync.Mutex
	procs   map[int]*Proc
	queue   []Exit
	orphans int
	starts  uint64 // processes started so far
	empty   bool   // no child left, and none started since
	ready   chan struct{}
	started chan struct{}
	closed  chan struct{}
	// queueOrphans: orphans' exits are queued too, with a nil Proc (tini -w
	// warns about each one it reaps).
	queueOrphans uint32 // atomic: 1 = queue them
	// For reapOrphans (orphans.go): the pids of started processes not yet
	// reaped, Starts under way, the orphans reaped there, and its siginfo.
	live          pidSet
	starting      int32  // atomic
	windowOrphans uint64 // atomic
	info          unix.Siginfo
	spawner       *spawner // UseSpawner: forks on a thread with a small fd table
	fdsHeld       int      // FdsHeld: about how many fds the caller holds open
}

// Proc is one process started by Start.
type Proc struct {
	Pid int
}

// WaiterEnv was svinit's switch to an io_uring waiter (SVINIT_REAPER=io_uring).
// That waiter is gone: slower than waitid under an orphan storm (1.2-2.1x
// tini's CPU against 0.75-0.9x) and, under load, it lost exits of started
// processes (TestStartsAmidOrphans: 2 runs in 120). The variable is named in
// a warning, not silently ignored.
const WaiterEnv = "SVINIT_REAPER"

// New starts the waiter, in waitid.
func New() *Reaper {
	if v := os.Getenv(WaiterEnv); v != "" {
		svlog.Warn("%s=%s: not honoured: svinit's reaper waits in waitid only (the io_uring waiter was removed: it lost exits under load)", WaiterEnv, v)
	}
	return newReaper()
}

func newReaper() *Reaper {
	r := &Reaper{
		procs:   map[int]*Proc{},
		empty:   true,
		ready:   make(chan struct{}, 1),
		started: make(chan struct{}, 1),
		closed:  make(chan struct{}),
	}
	go r.wait()
	return r
}

// Start forks and executes s and registers the process, so that its exit is
// queued for the loop.
func (r *Reaper) Start(s Spec) (*Proc, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	atomic.AddInt32(&r.starting, 1)
	defer atomic.AddInt32(&r.starting, -1)
	spawn := spawnHere
	if r.spawner != nil && r.fdsHeld >= spawnerFrom {
		spawn = r.spawner.spawn
	}
	pid, err := spawn(s)
	if err != nil {
		return nil, err
	}
	p := &Proc{Pid: pid}
	r.procs[pid] = p
	r.live.add(pid)
	r.starts++
	r.empty = false
	select {
	case r.started <- struct{}{}:
	default:
	}
	return p, nil
}

// Signal sends sig to p, or to its process group with group, unless p has
// been reaped: under the reaper's lock its pid cannot belong to anyone else.
func (r *Reaper) Signal(p *Proc, sig unix.Signal, group bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.procs[p.Pid] != p {
		return unix.ESRCH
	}
	pid := p.Pid
	if group {
		pid = -pid
	}
	return unix.Kill(pid, sig)
}

// PidFD opens a pidfd for p (pidfd_open) unless p has been reaped: under the
// reaper's lock its pid is still p's. A signal sent through the pidfd reaches
// p or, once p is gone, no one. The caller closes it.
func (r *Reaper) PidFD(p *Proc) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.procs[p.Pid] != p {
		return -1, unix.ESRCH
	}
	return unix.PidfdOpen(p.Pid, 0) // always close-on-exec
}

// Ready receives a value when Take has something new.
func (r *Reaper) Ready() <-chan struct{} { return r.ready }

// Take returns the exits of started processes queued since the last call, in
// the order they were reaped.
func (r *Reaper) Take() []Exit {
	r.mu.Lock()
	defer r.mu.Unlock()
	exits := r.queue
	r.queue = nil
	return exits
}

// Empty reports whether no child at all is left: as PID 1 or a subreaper
// that means svinit's whole process tree is gone.
func (r *Reaper) Empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.empty
}

// Orphans is how many processes not started by Start were reaped.
func (r *Reaper) Orphans() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.orphans + int(atomic.LoadUint64(&r.windowOrphans))
}

// QueueOrphans makes Take return the exits of orphans as well, with a nil
// Proc, from now on.
func (r *Reaper) QueueOrphans() { atomic.StoreUint32(&r.queueOrphans, 1) }

// Close stops the waiter once no child is left.
func (r *Reaper) Close() {
	close(r.closed)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spawner != nil {
		r.spawner.close()
		r.spawner = nil
	}
}

func (r *Reaper) wait() {
	for {
		r.mu.Lock()
		starts := r.starts
		r.mu.Unlock()
		errno := reapOrphans(&r.info, &r.live, &r.starting, &r.queueOrphans, &r.windowOrphans)
		switch {
		case errno == unix.EINTR:
			continue
		case errno == unix.ECHILD:
			if r.idle(starts) {
				return
			}
			continue
		}
		if r.drain() {
			// Let the loop take the exits first: back in waitid this
			// goroutine would keep the only P (GOMAXPROCS=1) until the
			// runtime's monitor thread takes it, 20 µs or more.
			runtime.Gosched()
		}
	}
}

// idle marks that no child is left, unless one was started meanwhile, then
// waits for the next start. It reports whether the reaper was closed.
func (r *Reaper) idle(starts uint64) (closed bool) {
	r.mu.Lock()
	if r.starts == starts && !r.empty {
		r.empty = true
		r.kick()
	}
	r.mu.Unlock()
	select {
	case <-r.started:
		return false
	case <-r.closed:
		return true
	}
}

// drain reaps every child that has ended; it reports whether it queued an
// exit for the loop.
func (r *Reaper) drain() (queued bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		pid, ws, err := wait4NoHang()
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return queued
		}
		p := r.procs[pid]
		if p == nil {
			r.orphans++
			if atomic.LoadUint32(&r.queueOrphans) == 1 {
				r.queue = append(r.queue, Exit{Pid: pid, Status: ws})
				r.kick()
				queued = true
			}
			continue
		}
		delete(r.procs, pid)
		r.live.remove(pid)
		r.queue = append(r.queue, Exit{Proc: p, Pid: pid, Status: ws})
		r.kick()
		queued = true
	}
}

// wait4NoHang is wait4(-1, WNOHANG): it never blocks, so it is made as a
// raw system call, which does not wake the Go runtime's monitor thread.
func wait4NoHang() (int, unix.WaitStatus, error) {
	var ws unix.WaitStatus
	pid, _, errno := unix.RawSyscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(&ws)), unix.WNOHANG, 0, 0, 0)
	if errno != 0 {
		return 0, 0, errno
	}
	return int(pid), ws, nil
}

func (r *Reaper) kick() {
	select {
	case r.ready <- struct{}{}:
	default:
	}
}
