package multilog

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/errstr"

	"golang.org/x/sys/unix"
)

// logDir is one log directory: current, and old files @<tai64n>.s.
type logDir struct {
	path    string
	size    int // rotate when current would grow past this
	num     int // keep at most this many old files
	lock    *os.File
	current *os.File
	written int    // bytes in current, those still in buf included
	buf     []byte // bytes for current not written yet (see flush)
	// selected is whether the line being written goes here.
	selected bool
}

// retry is how long a write that failed (disk full) waits before trying
// again; no line is dropped.
var retry = time.Second

// warn reports a problem; set by the caller (stderr).
var warn = func(format string, args ...any) {}

func (d *logDir) open() error {
	if err := os.MkdirAll(d.path, 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(d.path, "lock"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return fmt.Errorf("unable to lock directory %s: temporary failure", d.path)
	}
	d.lock = lock
	d.buf = make([]byte, 0, writeBuf)
	if f, err := os.OpenFile(filepath.Join(d.path, "state"), os.O_WRONLY|os.O_CREATE, 0o644); err == nil {
		f.Close() // daemontools' processor state; empty without a processor
	}
	return d.openCurrent()
}

func (d *logDir) openCurrent() error {
	f, err := os.OpenFile(filepath.Join(d.path, "current"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	_ = f.Chmod(0o644)
	d.current, d.written = f, int(st.Size())
	return nil
}

// writeLine appends a whole line (with its newline), starting a new
// current first if it would not fit.
func (d *logDir) writeLine(line []byte) {
	if d.written > 0 && d.written+len(line) > d.size {
		d.rotate()
	}
	d.writePart(line)
}

// writePart appends part of a line, starting a new current each time this
// one is full: a line longer than the size goes on in the next file, as in
// daemontools. The bytes wait in buf until it is full or flush is called;
// a part as big as buf goes straight to the file.
func (d *logDir) writePart(p []byte) {
	for len(p) > 0 {
		if d.written >= d.size {
			d.rotate()
		}
		n := min(len(p), d.size-d.written)
		if len(d.buf)+n > cap(d.buf) {
			d.flush()
		}
		if n >= cap(d.buf) {
			d.writeAll(p[:n])
		} else {
			d.buf = append(d.buf, p[:n]...)
		}
		d.written += n
		p = p[n:]
	}
}

// flush writes what buf holds to current. Run flushes every directory
// before each read of the input, as daemontools' multilog does: current is
// complete whenever multilog waits for more.
func (d *logDir) flush() {
	d.writeAll(d.buf)
	d.buf = d.buf[:0]
}

// writeAll writes p to current; a failed write (disk full) is retried
// until it succeeds.
func (d *logDir) writeAll(p []byte) {
	for len(p) > 0 {
		n, err := d.current.Write(p)
		p = p[n:]
		if err != nil {
			warn("unable to write to %s/current, pausing: %v", d.path, errstr.Text(err))
			time.Sleep(retry)
		}
	}
}

// rotate makes current an old file @<tai64n>.s (mode 0744: complete) and
// starts a new current, removing the oldest files beyond num.
func (d *logDir) rotate() {
	d.flush()
	for {
		err := d.current.Sync()
		if err == nil {
			err = d.current.Chmod(0o744)
		}
		if err == nil {
			err = os.Rename(filepath.Join(d.path, "current"), filepath.Join(d.path, TAI64N(time.Now())+".s"))
		}
		if err == nil {
			d.current.Close()
			err = d.openCurrent()
		}
		if err == nil {
			break
		}
		warn("unable to rotate %s, pausing: %v", d.path, errstr.Text(err))
		time.Sleep(retry)
	}
	d.prune()
}

func (d *logDir) prune() {
	entries, _ := os.ReadDir(d.path)
	var old []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "@") && strings.HasSuffix(e.Name(), ".s") {
			old = append(old, e.Name())
		}
	}
	sort.Strings(old)
	for len(old) > d.num-1 {
		_ = os.Remove(filepath.Join(d.path, old[0]))
		old = old[1:]
	}
}

// close marks current complete (mode 0744), as daemontools does at the end.
func (d *logDir) close() {
	if d.current != nil {
		d.flush()
		_ = d.current.Sync()
		_ = d.current.Chmod(0o744)
		d.current.Close()
	}
	if d.lock != nil {
		d.lock.Close()
	}
}

// statusFile is =file: the head of the last selected line, padded with
// newlines to maxLine+1 bytes, written over the start of the file.
type statusFile struct {
	path string
	f    *os.File
	buf  []byte
}

func (st *statusFile) open() error {
	f, err := os.OpenFile(st.path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	st.f, st.buf = f, make([]byte, maxLine+1)
	return nil
}

func (st *statusFile) write(head []byte) {
	n := copy(st.buf, head)
	for i := n; i < len(st.buf); i++ {
		st.buf[i] = '\n'
	}
	for {
		_, err := st.f.WriteAt(st.buf, 0)
		if err == nil {
			return
		}
		warn("unable to write %s, pausing: %v", st.path, errstr.Text(err))
		time.Sleep(retry)
	}
}

func (st *statusFile) close() {
	if st.f != nil {
		st.f.Close()
	}
}
