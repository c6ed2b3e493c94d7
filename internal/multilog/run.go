package multilog

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A line's head is what multilog looks at: the stamp and the line's first
// bytes, maxLine in all (daemontools' 1000). The patterns are matched
// against the head, e prints its first maxErr bytes (then "..." if it is
// longer) and =file gets it; the directories get the whole line, however
// long: what does not fit in the read buffer is streamed to them as it
// comes, so memory stays bounded and no byte is dropped.
const (
	maxLine  = 1000
	maxErr   = 200
	readBuf  = 64 << 10
	writeBuf = 64 << 10 // each directory's
)

// Run processes in until its end, then closes the directories. sigs
// (nil: none) brings the signals daemontools' multilog acts on: ALRM
// rotates every non-empty current at once; TERM makes Run read on to the
// end of the line being read, a byte at a time, and return as at the end
// of the input, leaving in at the first byte it has not processed.
func (s *Script) Run(in *os.File, stderr io.Writer, sigs <-chan os.Signal) error {
	warn = func(format string, args ...any) { fmt.Fprintf(stderr, "multilog: warning: "+format+"\n", args...) }
	if err := s.open(); err != nil {
		return err
	}
	defer s.close()
	input := newInput(in, s.dirs, sigs)
	defer input.close()
	r := bufio.NewReaderSize(input, readBuf)
	var line, errLine []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) == 0 {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("read standard input: %w", err)
		}
		complete := chunk[len(chunk)-1] == '\n'
		// line is the stamp and the chunk; without a stamp, the chunk itself.
		line = chunk
		if s.Stamp != 0 {
			line = append(s.appendStamp(s.buf[:0], time.Now()), chunk...)
			s.buf = line[:0]
		}
		end := len(line)
		if complete {
			end--
		}
		head := line[:min(end, maxLine)]
		errLine = s.run(head, stderr, errLine)
		if complete {
			for _, d := range s.dirs {
				if d.selected {
					d.writeLine(line)
				}
			}
			continue
		}
		// A line longer than the buffer, or the last one without its newline.
		for _, d := range s.dirs {
			if d.selected {
				d.writePart(line)
			}
		}
		for err == bufio.ErrBufferFull {
			chunk, err = r.ReadSlice('\n')
			for _, d := range s.dirs {
				if d.selected {
					d.writePart(chunk)
				}
			}
		}
		if err == nil { // the newline came
			continue
		}
		for _, d := range s.dirs {
			if d.selected {
				d.writePart(newline)
			}
		}
		if err == io.EOF {
			return nil
		}
		return fmt.Errorf("read standard input: %w", err)
	}
}

var newline = []byte{'\n'}

// input is the input as daemontools' multilog reads it. Before each read,
// each directory's buffer is written out, so what was read is in the files
// whenever multilog waits for more, and the files get a few large writes
// instead of one a line; and the signals that came are acted on. A wait
// for input ends with a signal too: poll(2) waits for in or for wake, an
// eventfd that the signals' goroutine makes readable, and in is read once
// it is readable (it keeps its flags, shared with whoever else holds it).
// One poll a read: the poller's hand-over of each readiness to another
// goroutine cost 50-100% more CPU time on a busy log.
type input struct {
	in      *os.File
	dirs    []*logDir
	fd      int
	wake    int            // eventfd; -1: no signals to wait for
	sigs    chan os.Signal // the signals that came, not acted on yet
	done    chan struct{}  // Run has ended
	wg      sync.WaitGroup // the signals' goroutine
	term    bool           // TERM came
	newline bool           // the last byte read is a newline, or none was read
}

func newInput(in *os.File, dirs []*logDir, sigs <-chan os.Signal) *input {
	r := &input{in: in, dirs: dirs, fd: -1, wake: -1, newline: true}
	if sigs == nil {
		return r
	}
	rc, err := in.SyscallConn() // not Fd(), which would make in blocking if it is not
	if err != nil {
		return r
	}
	if err := rc.Control(func(fd uintptr) { r.fd = int(fd) }); err != nil {
		return r
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return r
	}
	r.wake, r.sigs, r.done = wake, make(chan os.Signal, 8), make(chan struct{})
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
		for {
			select {
			case sig := <-sigs:
				select {
				case r.sigs <- sig:
				case <-r.done:
					return
				}
				_, _ = unix.Write(wake, one)
			case <-r.done:
				return
			}
		}
	}()
	return r
}

func (r *input) close() {
	if r.wake >= 0 {
		close(r.done)
		r.wg.Wait()
		unix.Close(r.wake)
	}
}

func (r *input) Read(p []byte) (int, error) {
	for _, d := range r.dirs {
		d.flush()
	}
	for {
		select {
		case sig := <-r.sigs:
			r.signal(sig)
			continue
		default:
		}
		if r.term {
			// daemontools' rule: on to the end of the line, a byte at a
			// time, without waiting for another signal.
			if r.newline {
				return 0, io.EOF
			}
			return r.read(p[:1])
		}
		if r.wake < 0 {
			return r.read(p)
		}
		fds := []unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLIN}, {Fd: int32(r.wake), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return 0, fmt.Errorf("poll: %w", err)
		}
		if fds[1].Revents != 0 {
			var b [8]byte
			_, _ = unix.Read(r.wake, b[:])
			continue
		}
		if fds[0].Revents != 0 {
			return r.read(p)
		}
	}
}

func (r *input) read(p []byte) (int, error) {
	n, err := r.in.Read(p)
	if n > 0 {
		r.newline = p[n-1] == '\n'
	}
	return n, err
}

// signal acts on ALRM and TERM, as daemontools' multilog does.
func (r *input) signal(sig os.Signal) {
	switch sig {
	case unix.SIGALRM: // current is big enough, if it is not empty
		for _, d := range r.dirs {
			if d.written > 0 {
				d.rotate()
			}
		}
	case unix.SIGTERM:
		r.term = true
	}
}

// appendStamp appends the stamp and a space.
func (s *Script) appendStamp(b []byte, now time.Time) []byte {
	if s.Stamp == 't' {
		b = appendTAI64N(b, now)
	} else {
		b = now.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z")
	}
	return append(b, ' ')
}

// run runs the script on a line's head: the selection of each
// directory, e and =file. buf is reused for e's line.
func (s *Script) run(head []byte, stderr io.Writer, buf []byte) []byte {
	selected := true
	for i := range s.actions {
		a := &s.actions[i]
		switch a.kind {
		case actSelect:
			if !selected && match(a.pattern, head) {
				selected = true
			}
		case actDeselect:
			if selected && match(a.pattern, head) {
				selected = false
			}
		case actStderr:
			if selected {
				buf = append(buf[:0], head[:min(len(head), maxErr)]...)
				if len(head) > maxErr {
					buf = append(buf, "..."...)
				}
				buf = append(buf, '\n')
				_, _ = stderr.Write(buf)
			}
		case actStatus:
			if selected {
				a.status.write(head)
			}
		case actDir:
			a.dir.selected = selected
		}
	}
	return buf
}
