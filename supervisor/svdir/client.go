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
// bytes (sv); otherwise 18 are enough (svstat). s6's 35-byte status (svinit
// in s6 mode, or s6-supervise) is read as the same state in runit's terms.
func ReadStatus(dir string, want20 bool) (Status, error) {
	b, err := ReadStatusBytes(dir)
	if err != nil {
		return Status{}, err
	}
	if len(b) == S6StatusSize {
		s6, err := DecodeS6(b)
		return s6.Runit(), err
	}
	if len(b) < 18 || (want20 && len(b) < StatusSize) || len(b) > StatusSize {
		return Status{}, errors.New("bad format")
	}
	return Decode(b)
}

// ReadStatusBytes reads dir's supervise/status whole (at most 36 bytes: one
// more than s6's, to tell a longer file).
func ReadStatusBytes(dir string) ([]byte, error) {
	f, err := os.Open(filepath.Join(dir, "supervise/status"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b [S6StatusSize + 1]byte
	n, err := io.ReadFull(f, b[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:n], nil
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
