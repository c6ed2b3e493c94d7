package multilog

import (
	"bufio"
	"fmt"
	"io"
	"time"
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

// Run processes in until its end, then closes the directories.
func (s *Script) Run(in io.Reader, stderr io.Writer) error {
	warn = func(format string, args ...any) { fmt.Fprintf(stderr, "multilog: warning: "+format+"\n", args...) }
	if err := s.open(); err != nil {
		return err
	}
	defer s.close()
	r := bufio.NewReaderSize(flushReader{in, s.dirs}, readBuf)
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

// flushReader is the input as daemontools' multilog reads it: each
// directory's buffer is written out before each read, so what was read is
// in the files whenever multilog waits for more, and the files get a few
// large writes instead of one a line.
type flushReader struct {
	in   io.Reader
	dirs []*logDir
}

func (r flushReader) Read(p []byte) (int, error) {
	for _, d := range r.dirs {
		d.flush()
	}
	return r.in.Read(p)
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
