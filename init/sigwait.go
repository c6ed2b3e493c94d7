package pid1

import (
	"errors"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// The main thread waits for signals itself, as tini does: with the
// forwardable signals blocked on it, it sleeps in sigtimedwait, and the
// kernel, which offers a process's signal to its main thread first, wakes
// it and hands it the signal directly. A signal to pass on is sent from
// there at once — one thread wake-up, where Go's os/signal needs three (the
// thread that runs the handler, the signal goroutine's, the loop's). Every
// other signal goes to the loop. A signal that comes while the main thread
// is busy finds it blocked there and reaches the loop through os/signal, as
// before; two signals sent a few microseconds apart may thus be passed on in
// either order, as they may be when sent by two processes.

func init() {
	// The main goroutine keeps the main thread (cmd/'s main runs Run on it).
	runtime.LockOSThread()
}

// wakeSig, sent to the waiting thread alone, tells it the loop has ended
// (SIGCONT has no effect on a process that is not stopped).
const wakeSig = unix.SIGCONT

// sigsetSize is the kernel's sigset_t: 64 signals.
const sigsetSize = 8

// sigWaiter is the main thread's part. The loop publishes the main command
// in direct while signals for it may be passed on without the loop.
type sigWaiter struct {
	set    unix.Sigset_t
	tid    int
	group  bool
	direct atomic.Pointer[reaper.Proc]
	done   atomic.Bool
}

// newSigWaiter blocks the forwardable signals on the calling thread, which
// stays locked to its goroutine until wait returns.
func newSigWaiter(group bool) *sigWaiter {
	runtime.LockOSThread()
	w := &sigWaiter{tid: unix.Gettid(), group: group}
	for _, s := range ForwardableSignals() {
		w.set.Val[(s-1)/64] |= 1 << ((uint(s) - 1) % 64)
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &w.set, nil); err != nil {
		svlog.Warn("unable to block signals on the main thread: %v: they take the slower path", err)
	}
	return w
}

// wait passes signals on until stop is called, then unblocks them on this
// thread again and releases it.
func (w *sigWaiter) wait(r *reaper.Reaper, toLoop chan<- os.Signal) {
	defer runtime.UnlockOSThread()
	defer unix.PthreadSigmask(unix.SIG_UNBLOCK, &w.set, nil)
	for !w.done.Load() {
		sig, err := w.next()
		switch {
		case errors.Is(err, unix.EINTR), w.done.Load():
		case err != nil:
			svlog.Warn("unable to wait for signals on the main thread: %v: they take the slower path", err)
			return
		case !w.passOn(r, sig):
			toLoop <- sig
		}
	}
}

// next waits for one of the blocked signals (rt_sigtimedwait, no timeout).
func (w *sigWaiter) next() (unix.Signal, error) {
	var info unix.Siginfo
	n, _, errno := unix.Syscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&w.set)),
		uintptr(unsafe.Pointer(&info)), 0, sigsetSize, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return unix.Signal(n), nil
}

// passOn sends sig to the main command if the loop would only pass it on:
// TERM, INT and HUP may mean a shutdown or a rescan, so the loop decides.
func (w *sigWaiter) passOn(r *reaper.Reaper, sig unix.Signal) bool {
	p := w.direct.Load()
	if p == nil || sig == unix.SIGTERM || sig == unix.SIGINT || sig == unix.SIGHUP {
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
