package pid1

import (
	"errors"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/svinit/svinit/internal/sigfwd"
	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// The main thread waits for signals itself, as tini does: it sleeps in
// sigtimedwait, and the kernel, which offers a process's signal to its main
// thread first, wakes it and hands it the signal directly. A signal to pass
// on is sent from there at once (sigfwd: without even rejoining the Go
// scheduler) — one thread wake-up, where Go's os/signal needs three (the
// thread that runs the handler, the signal goroutine's, the loop's). Every
// other signal goes to the loop.
//
// Unlike tini the thread does not block the signals it waits for: when
// sigtimedwait returns, the kernel puts the thread's mask back before it
// takes the signal, and finding the signal pending and now blocked it would
// wake another thread to take it (for nothing: it is taken a moment later) —
// one more context switch per signal in a process with threads. Unblocked,
// a signal that comes while the thread is busy runs the Go runtime's handler
// there and reaches the loop through os/signal; two signals sent a few
// microseconds apart may thus be passed on in either order, as they may be
// when sent by two processes. Only wakeSig is blocked, so that stop's wake,
// even sent between the done check and the wait, stays pending until taken.
//
// Which signals the thread may pass on itself is the loop's to say: with
// the main command it publishes the signals onSignal would only pass on in
// the phase it is in (forwardedNow), so the thread never decides anything.
// TERM and INT begin the shutdown while running and go to the loop; once the
// shutdown has begun they are passed on directly like the rest. With -g the
// thread sends to the main command's process group through the same pidfd
// (PIDFD_SIGNAL_PROCESS_GROUP, Linux 6.9); on older kernels -g signals take
// the loop's way.

// KeepMainThread keeps the main goroutine on the main thread for good, as
// the waiting above needs (cmd/'s main runs Run on it). Only a call during
// package initialisation is sure to hold the main thread: the runtime runs
// init on it and the lock then outlives main's start. cmd/svinit calls it
// there for every program but the clients (svc, svstat, ...), which have
// no use for it: the lock also starts the runtime's template thread, a
// clone at every start.
func KeepMainThread() { runtime.LockOSThread() }

// wakeSig, sent to the waiting thread alone, tells it the loop has ended:
// SIGTTIN, which svinit never passes on (so SIGCONT, which it does, is not
// blocked on the thread and takes the direct way too). One sent from
// outside is taken and dropped, as the loop would (onSignal ignores it).
const wakeSig = unix.SIGTTIN

// reloadSig, sent to the waiting thread alone, interrupts its wait (EINTR)
// so that it takes up a new pidfd: Go's own preemption signal, which the
// runtime ignores when it has asked for nothing. Should the signal come
// while the thread is between two waits, the thread has the new pidfd
// anyway or keeps the old one until the next signal, which then goes the
// way through Go: -1 sends nothing, and the old main command's pidfd
// reaches no one.
const reloadSig = unix.SIGURG

// sigWaiter is the main thread's part. The loop publishes the main command
// in direct while signals for it may be passed on without the loop, the
// signals it may pass on in mask (bit N-1 for signal N), and a pidfd for it
// in pidfd (-1: none) where they may be sent from the wait itself (sigfwd);
// with -g only where the kernel can signal a process group through a pidfd
// (sendFlags).
type sigWaiter struct {
	set       unix.Sigset_t
	tid       int
	group     bool
	sendFlags uint // pidfd_send_signal's flags; -g: PIDFD_SIGNAL_PROCESS_GROUP
	groupFD   bool // -g signals may go through the pidfd
	direct    atomic.Pointer[reaper.Proc]
	mask      atomic.Uint64
	pidfd     atomic.Int32
	done      atomic.Bool
}

// newSigWaiter blocks wakeSig on the calling thread, which stays locked to
// its goroutine until wait returns, and will wait for every forwardable
// signal.
func newSigWaiter(group bool) *sigWaiter {
	runtime.LockOSThread()
	w := &sigWaiter{tid: unix.Gettid(), group: group, set: *sigfwd.Set(append(ForwardableSignals(), wakeSig)...)}
	w.pidfd.Store(-1)
	if group {
		w.sendFlags = unix.PIDFD_SIGNAL_PROCESS_GROUP
		w.groupFD = groupPidfdWorks()
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, wakeSet(), nil); err != nil {
		svlog.Warn("unable to block %s on the main thread: %v", unix.SignalName(wakeSig), err)
	}
	return w
}

func wakeSet() *unix.Sigset_t { return sigfwd.Set(wakeSig) }

// wait passes signals on until stop is called, then unblocks wakeSig on
// this thread again and releases it.
func (w *sigWaiter) wait(r *reaper.Reaper, toLoop chan<- os.Signal) {
	defer runtime.UnlockOSThread()
	defer unix.PthreadSigmask(unix.SIG_UNBLOCK, wakeSet(), nil)
	for !w.done.Load() {
		sig, errno := sigfwd.WaitAndSend(&w.set, int(w.pidfd.Load()), w.sendFlags, w.mask.Load())
		switch {
		case errno == unix.EINTR, w.done.Load(), sig == wakeSig:
		case errno != 0:
			svlog.Warn("unable to wait for signals on the main thread: %v: they take the slower path", errno)
			return
		case !w.passOn(r, sig):
			toLoop <- sig
		}
	}
}

// groupPidfdWorks: the kernel signals a process group through a pidfd
// (PIDFD_SIGNAL_PROCESS_GROUP, Linux 6.9); older ones refuse the flag.
func groupPidfdWorks() bool {
	fd, err := unix.PidfdOpen(unix.Getpid(), 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return !errors.Is(unix.PidfdSendSignal(fd, 0, nil, unix.PIDFD_SIGNAL_PROCESS_GROUP), unix.EINVAL)
}

// sigBit is sig's bit in a mask.
func sigBit(sig unix.Signal) uint64 { return 1 << (uint(sig) - 1) }

// publish lets the wait pass the signals in mask on to p (nil: to no one,
// and mask is ignored). A pidfd lets it send them without rejoining the Go
// scheduler first.
func (w *sigWaiter) publish(r *reaper.Reaper, p *reaper.Proc, mask uint64) {
	if p == nil {
		mask = 0
	}
	old := w.direct.Load()
	if p == old && mask == w.mask.Load() {
		return
	}
	fd := int(w.pidfd.Load()) // a pidfd, once opened, stays open until svinit exits
	if p != old {
		fd = -1
		if p != nil && (!w.group || w.groupFD) {
			fd, _ = r.PidFD(p)
		}
	}
	w.mask.Store(mask)
	w.pidfd.Store(int32(fd))
	w.direct.Store(p)
	_ = unix.Tgkill(unix.Getpid(), w.tid, reloadSig)
}

// passOn sends sig to the main command if the loop has said it would only
// pass it on.
func (w *sigWaiter) passOn(r *reaper.Reaper, sig unix.Signal) bool {
	p := w.direct.Load()
	if p == nil || w.mask.Load()&sigBit(sig) == 0 {
		return false
	}
	forward(r, p, sig, w.group)
	return true
}

// stop ends wait; called once the loop has its exit code.
func (w *sigWaiter) stop() {
	w.done.Store(true)
	_ = unix.Tgkill(unix.Getpid(), w.tid, wakeSig)
}
