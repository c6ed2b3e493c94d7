package svdir

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrNotRunning is a service directory no supervisor listens on (ENXIO on
// the ok or control FIFO).
var ErrNotRunning = errors.New("supervise not running")

// Alive reports whether a supervisor holds dir's supervise/ok FIFO open: nil
// if it does, ErrNotRunning if nobody reads it, another error (ENOENT, ...)
// if it cannot be opened.
func Alive(dir string) error {
	fd, err := unix.Open(filepath.Join(dir, "supervise/ok"), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENXIO) {
		return ErrNotRunning
	}
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// ReadStatus reads dir's supervise/status. want20 asks for runit's full 20
// bytes (sv); otherwise 18 are enough (svstat).
func ReadStatus(dir string, want20 bool) (Status, error) {
	f, err := os.Open(filepath.Join(dir, "supervise/status"))
	if err != nil {
		return Status{}, err
	}
	defer f.Close()
	var b [StatusSize]byte
	n, err := io.ReadFull(f, b[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Status{}, err
	}
	if n < 18 || (want20 && n < StatusSize) {
		return Status{}, errors.New("bad format")
	}
	return Decode(b[:n])
}

// Control writes cmds to dir's supervise/control in one write, as svc does.
func Control(dir string, cmds []byte) error {
	return WriteFifo(filepath.Join(dir, "supervise/control"), cmds)
}

// WriteFifo opens a FIFO without blocking (no reader: ErrNotRunning), then
// writes data with blocking writes.
func WriteFifo(path string, cmds []byte) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENXIO) {
		return ErrNotRunning
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.SetNonblock(fd, false); err != nil {
		return err
	}
	for len(cmds) > 0 {
		n, err := unix.Write(fd, cmds)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		cmds = cmds[n:]
	}
	return nil
}
