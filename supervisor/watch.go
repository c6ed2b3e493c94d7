package supervisor

import (
	"os"
	"time"

	"github.com/svinit/svinit/internal/svlog"
	"golang.org/x/sys/unix"
)

// scanner asks the loop to scan when the tree changes (inotify), and every
// Rescan as a safety net.
type scanner struct {
	inotify *os.File
	ticker  *time.Ticker
	done    chan struct{}
}

func startScanner(s *Supervisor) *scanner {
	sc := &scanner{done: make(chan struct{})}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err == nil {
		mask := uint32(unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
			unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR)
		if _, werr := unix.InotifyAddWatch(fd, s.root, mask); werr != nil {
			svlog.Warn("unable to watch %s: %v: new services are found by rescans only", s.root, werr)
		}
		sc.inotify = os.NewFile(uintptr(fd), "inotify")
		go sc.readInotify(s)
	} else {
		svlog.Warn("inotify: %v: new services are found by rescans only", err)
	}
	every := s.opts.Rescan
	if every > 0 {
		sc.ticker = time.NewTicker(every)
		go sc.tick(s)
	}
	return sc
}

func (sc *scanner) readInotify(s *Supervisor) {
	buf := make([]byte, 4096)
	for {
		_, err := sc.inotify.Read(buf)
		if err != nil {
			return
		}
		s.post(s.scan)
	}
}

// tick is the safety net: it costs one stat of the root a period, and a
// scan only when the root changed (as runsvdir does) — a new or removed
// entry changes the directory's mtime, whatever inotify missed.
func (sc *scanner) tick(s *Supervisor) {
	var last unix.Stat_t
	_ = unix.Stat(s.root, &last) // the first scan is Start's
	for {
		select {
		case <-sc.ticker.C:
			var st unix.Stat_t
			if err := unix.Stat(s.root, &st); err == nil && st.Ino == last.Ino && st.Mtim == last.Mtim && st.Ctim == last.Ctim {
				continue
			} else {
				last = st
			}
			s.post(s.scan)
		case <-sc.done:
			return
		}
	}
}

func (sc *scanner) close() {
	close(sc.done)
	if sc.ticker != nil {
		sc.ticker.Stop()
	}
	if sc.inotify != nil {
		sc.inotify.Close()
	}
}
