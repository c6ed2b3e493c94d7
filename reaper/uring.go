package reaper

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// waitRing waits for a child's exit through io_uring (IORING_OP_WAITID,
// Linux 6.7): the ring's fd becomes readable when a child has ended, and Go's
// network poller wakes the waiter for it. A goroutine blocked in the waitid
// system call costs about five thread wake-ups per exit in the Go runtime (it
// wakes its monitor thread, which takes the P back and starts another thread
// looking for work); through the poller it is one, as for tini. Only the
// ring's own calls are made here; reaping stays with wait4 in drain.
type waitRing struct {
	fd     int
	file   *os.File
	conn   syscall.RawConn
	maps   [3][]byte // SQ ring, CQ ring, SQEs
	sqTail *uint32
	sqMask *uint32
	sqIdx  unsafe.Pointer // the SQ ring's index array
	cqHead *uint32
	cqTail *uint32
	cqMask *uint32
	cqes   unsafe.Pointer
	info   unix.Siginfo // waitid's siginfo, written by the kernel
}

// io_uring ABI (include/uapi/linux/io_uring.h).
const (
	opWaitid    = 50
	offSQRing   = 0
	offCQRing   = 0x8000000
	offSQEs     = 0x10000000
	sqeSize     = 64
	cqeSize     = 16
	ringEntries = 2
)

// ringParams is struct io_uring_params; sq and cq are io_sqring_offsets and
// io_cqring_offsets as arrays of u32 (their last u64 spans two).
type ringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sq                                                                     [10]uint32
	cq                                                                     [10]uint32
}

// Offsets into ringParams.sq and .cq.
const (
	sqTailOff, sqMaskOff, sqArrayOff = 1, 2, 6
	cqHeadOff, cqTailOff, cqMaskOff  = 0, 1, 2
	cqCQEsOff                        = 5
)

// newWaitRing sets up a ring of two entries; an error means the kernel has
// no io_uring or does not let svinit use it (seccomp, io_uring_disabled).
func newWaitRing() (*waitRing, error) {
	var p ringParams
	fd, _, errno := unix.RawSyscall(unix.SYS_IO_URING_SETUP, ringEntries, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	w := &waitRing{fd: int(fd)}
	sizes := [3]int{int(p.sq[sqArrayOff] + p.sqEntries*4), int(p.cq[cqCQEsOff] + p.cqEntries*cqeSize), int(p.sqEntries) * sqeSize}
	for i, off := range [3]int64{offSQRing, offCQRing, offSQEs} {
		m, err := unix.Mmap(w.fd, off, sizes[i], unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("mmap of the io_uring: %w", err)
		}
		w.maps[i] = m
	}
	sq, cq := unsafe.Pointer(&w.maps[0][0]), unsafe.Pointer(&w.maps[1][0])
	w.sqTail = (*uint32)(unsafe.Add(sq, p.sq[sqTailOff]))
	w.sqMask = (*uint32)(unsafe.Add(sq, p.sq[sqMaskOff]))
	w.sqIdx = unsafe.Add(sq, p.sq[sqArrayOff])
	w.cqHead = (*uint32)(unsafe.Add(cq, p.cq[cqHeadOff]))
	w.cqTail = (*uint32)(unsafe.Add(cq, p.cq[cqTailOff]))
	w.cqMask = (*uint32)(unsafe.Add(cq, p.cq[cqMaskOff]))
	w.cqes = unsafe.Add(cq, p.cq[cqCQEsOff])
	if err := unix.SetNonblock(w.fd, true); err != nil {
		w.close()
		return nil, fmt.Errorf("io_uring: %w", err)
	}
	w.file = os.NewFile(uintptr(w.fd), "io_uring")
	conn, err := w.file.SyscallConn()
	if err != nil {
		w.close()
		return nil, fmt.Errorf("io_uring: %w", err)
	}
	w.conn = conn
	return w, nil
}

// childExited blocks until some child has ended (nil; it is left to be
// reaped) or none is left (ECHILD); EINTR: ask again. EINVAL means this
// kernel has no IORING_OP_WAITID.
func (w *waitRing) childExited() error {
	if err := w.submit(); err != nil {
		return err
	}
	var res int32
	err := w.conn.Read(func(uintptr) bool {
		var ok bool
		res, ok = w.completion()
		return ok
	})
	if err != nil {
		return fmt.Errorf("io_uring: %w", err)
	}
	switch {
	case res == -int32(unix.ECANCELED): // the thread that submitted it has exited: again
		return unix.EINTR
	case res < 0:
		return unix.Errno(-res)
	}
	return nil
}

// submit queues waitid(P_ALL, 0, &info, WEXITED|WNOWAIT). io_uring_enter
// only submits here and does not block: a raw system call, which the Go
// runtime does not need to hear of.
func (w *waitRing) submit() error {
	tail := atomic.LoadUint32(w.sqTail)
	i := tail & *w.sqMask
	sqe := w.maps[2][i*sqeSize : (i+1)*sqeSize]
	clear(sqe)
	sqe[0] = opWaitid
	*(*uint64)(unsafe.Pointer(&sqe[8])) = uint64(uintptr(unsafe.Pointer(&w.info))) // addr2: infop
	*(*uint32)(unsafe.Pointer(&sqe[24])) = unix.P_ALL                              // len: idtype
	*(*uint32)(unsafe.Pointer(&sqe[44])) = unix.WEXITED | unix.WNOWAIT             // file_index: options
	*(*uint32)(unsafe.Add(w.sqIdx, 4*i)) = i
	atomic.StoreUint32(w.sqTail, tail+1)
	for {
		_, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(w.fd), 1, 0, 0, 0, 0)
		switch {
		case errno == 0:
			return nil
		case !errors.Is(errno, unix.EINTR):
			return fmt.Errorf("io_uring_enter: %w", errno)
		}
	}
}

// completion takes the next result off the CQ ring, if there is one.
func (w *waitRing) completion() (int32, bool) {
	head := atomic.LoadUint32(w.cqHead)
	if head == atomic.LoadUint32(w.cqTail) {
		return 0, false
	}
	cqe := unsafe.Add(w.cqes, cqeSize*(head&*w.cqMask))
	res := *(*int32)(unsafe.Add(cqe, 8))
	atomic.StoreUint32(w.cqHead, head+1)
	return res, true
}

func (w *waitRing) close() {
	for _, m := range w.maps {
		if m != nil {
			_ = unix.Munmap(m)
		}
	}
	if w.file != nil {
		_ = w.file.Close()
	} else {
		_ = unix.Close(w.fd)
	}
}
