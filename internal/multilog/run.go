package multilog

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

// maxLine is multilog's line length: a longer line is cut (daemontools: 1000).
const maxLine = 1000

// Run processes in until its end, then closes the directories.
func (s *Script) Run(in io.Reader, stderr io.Writer) error {
	warn = func(format string, args ...any) { fmt.Fprintf(stderr, "multilog: warning: "+format+"\n", args...) }
	for _, d := range s.Dirs() {
		if err := d.open(); err != nil {
			for _, o := range s.Dirs() {
				o.close()
			}
			return err
		}
	}
	defer func() {
		for _, d := range s.Dirs() {
			d.close()
		}
	}()
	r := bufio.NewReaderSize(in, 64<<10)
	for {
		line, err := readLine(r)
		if len(line) > 0 || err == nil {
			s.line(line, stderr)
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// readLine returns one line without its newline, at most maxLine bytes of
// it (the rest of a longer line is discarded, as daemontools does).
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		room := maxLine - len(line)
		take := chunk
		if n := len(take); n > 0 && take[n-1] == '\n' {
			take = take[:n-1]
		}
		if len(take) > room {
			take = take[:room]
		}
		line = append(line, take...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
}

func (s *Script) line(raw []byte, stderr io.Writer) {
	text := string(raw)
	switch s.Stamp {
	case 't':
		text = TAI64N(time.Now()) + " " + text
	case 'T':
		text = time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z") + " " + text
	}
	selected := true
	out := []byte(text + "\n")
	for _, a := range s.actions {
		switch a.kind {
		case actSelect:
			if match(a.pattern, text) {
				selected = true
			}
		case actDeselect:
			if match(a.pattern, text) {
				selected = false
			}
		case actStderr:
			if selected {
				_, _ = stderr.Write(out[:min(len(out)-1, 200)])
				_, _ = stderr.Write([]byte("\n"))
			}
		case actDir:
			if selected {
				a.dir.write(out)
			}
		}
	}
}
