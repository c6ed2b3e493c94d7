package reaper

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Orphans are reaped without the Go scheduler where the waiter blocks in
// waitid: the waiter leaves the scheduler once (runtime.entersyscall, as
// package syscall's Syscall does), then waits for an exit, reaps it and
// waits again for as long as the exits are orphans', and rejoins the
// scheduler only for an exit the loop must hear of (a process started with
// Start), for tini -w, or when no child is left. Rejoining and leaving the
// scheduler for every exit is what made a blocking waitid cost about five
// thread wake-ups: the runtime's monitor thread wakes at each entersyscall,
// takes the P back after 20 µs and starts another thread looking for work.
// This way an orphan costs one wake-up, waitid and wait4, as tini's
// sigtimedwait and waitpid loop; internal/sigfwd waits for signals the same
// way, and its comment says what code inside the window may do: no
// allocation, no stack growth (nosplit), no race instrumentation (norace),
// raw system calls and sync/atomic's functions (not the methods of its
// types, which the race detector's build does not inline). The race
// detector's atomics need the P the window has given up: in a -race build
// the window is left around them (race_on.go).
//
// An orphan is told from a started process by the live set: a bit per
// pid, set by Start under the reaper's lock before it lets go of the new
// pid, cleared when that process is reaped. Start also counts itself in
// starting from before its fork until the bit is set; the window reads
// starting after waitid has named a zombie, so a zero there means either
// that the zombie's Start has set its bit, or that no Start forked since the
// zombie existed (its pid cannot have been given to a new process): a zombie
// outside the set is an orphan.

//go:linkname entersyscall runtime.entersyscall
func entersyscall()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// pidSet holds one bit per pid up to Linux's PID_MAX_LIMIT (2^22), in pages
// of 32,768 pids (4 KiB) made when a pid in their range is first added.
type pidSet struct {
	pages [pidLimit / pageBits]unsafe.Pointer // *pidPage
}

type pidPage [pageBits / 64]uint64

const (
	pidLimit = 1 << 22
	pageBits = 1 << 15
)

// add and remove are called with the reaper's lock held.
func (s *pidSet) add(pid int) {
	if pid <= 0 || pid >= pidLimit {
		return
	}
	slot := &s.pages[pid/pageBits]
	page := (*pidPage)(atomic.LoadPointer(slot))
	if page == nil {
		page = new(pidPage)
		atomic.StorePointer(slot, unsafe.Pointer(page))
	}
	atomic.OrUint64(&page[pid%pageBits/64], 1<<(pid%64))
}

func (s *pidSet) remove(pid int) {
	if pid <= 0 || pid >= pidLimit {
		return
	}
	if page := (*pidPage)(atomic.LoadPointer(&s.pages[pid/pageBits])); page != nil {
		atomic.AndUint64(&page[pid%pageBits/64], ^uint64(1<<(pid%64)))
	}
}

// has may be called anywhere, inside the window too. A pid beyond the set's
// range counts as started: the waiter then rejoins Go and reaps it there.
//
//go:nosplit
//go:norace
func (s *pidSet) has(pid int) bool {
	if pid <= 0 || pid >= pidLimit {
		return true
	}
	page := (*pidPage)(atomic.LoadPointer(&s.pages[pid/pageBits]))
	return page != nil && atomic.LoadUint64(&page[pid%pageBits/64])&(1<<(pid%64)) != 0
}

// siginfo's si_pid, after si_signo, si_errno, si_code and padding.
const siPidOff = 16

// reapOrphans blocks until some child has ended; while those are orphans
// (outside live, no Start under way, orphans not queued) it reaps them
// itself and counts them in orphans. It returns once a child that is not
// such an orphan has ended, left to be reaped by drain (0), or with the
// error of waitid (ECHILD: no child left; EINTR).
//
//go:nosplit
//go:norace
func reapOrphans(info *unix.Siginfo, live *pidSet, starting *int32, queue *uint32, orphans *uint64) unix.Errno {
	entersyscall()
	for {
		_, _, errno := unix.RawSyscall6(unix.SYS_WAITID, unix.P_ALL, 0, uintptr(unsafe.Pointer(info)), unix.WEXITED|unix.WNOWAIT, 0, 0)
		if errno != 0 {
			exitsyscall()
			return errno
		}
		pid := int(*(*int32)(unsafe.Add(unsafe.Pointer(info), siPidOff)))
		if raceEnabled {
			exitsyscall() // the race detector's atomics need a P
		}
		orphan := atomic.LoadInt32(starting) == 0 && atomic.LoadUint32(queue) == 0 && !live.has(pid)
		if raceEnabled {
			entersyscall()
		}
		if !orphan {
			exitsyscall()
			return 0
		}
		var ws unix.WaitStatus
		if p, _, _ := unix.RawSyscall6(unix.SYS_WAIT4, uintptr(pid), uintptr(unsafe.Pointer(&ws)), unix.WNOHANG, 0, 0, 0); int(p) != pid {
			exitsyscall() // not reaped: drain tries
			return 0
		}
		if raceEnabled {
			exitsyscall()
		}
		atomic.AddUint64(orphans, 1)
		if raceEnabled {
			entersyscall()
		}
	}
}
