package supervisor

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/svinit/svinit/internal/errstr"

	"github.com/svinit/svinit/internal/svlog"
	"golang.org/x/sys/unix"
)

// scanner asks the loop to scan when the tree changes. inotify on the root
// sees every entry made, removed or renamed there, at once. Where inotify
// cannot be relied on — no inotify, the watch refused, a root on a
// filesystem whose changes made elsewhere inotify never hears of (NFS, FUSE,
// ...), the watch lost with the root removed or moved — the safety net
// checks the root every Rescan: one stat, and a scan when it changed (as
// runsvdir does). On a local filesystem with the watch in place nothing
// polls, so an idle svinit stays off the CPU.
type scanner struct {
	s    *Supervisor
	fd   int          // inotify, or -1
	file *os.File     // fd, read by readInotify
	wd   atomic.Int32 // the root's watch, or -1
	lost chan struct{}
	done chan struct{} // close: stop polling
	gone chan struct{} // poll has returned
}

const watchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// lostMask: events after which the watch no longer follows the root path.
const lostMask = unix.IN_IGNORED | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_UNMOUNT

func startScanner(s *Supervisor) *scanner {
	sc := &scanner{s: s, fd: -1, lost: make(chan struct{}, 1), done: make(chan struct{}), gone: make(chan struct{})}
	sc.wd.Store(-1)
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	var why string
	if err != nil {
		why = "inotify: " + errstr.Text(err)
	} else {
		sc.fd = fd
		sc.file = os.NewFile(uintptr(fd), "inotify")
		go sc.readInotify()
		why = sc.watch()
	}
	go sc.poll(why)
	return sc
}

// watch (re)adds the root's watch; it says why inotify alone will not do,
// or "" when it will.
func (sc *scanner) watch() string {
	if sc.fd < 0 {
		return "no inotify"
	}
	wd, err := unix.InotifyAddWatch(sc.fd, sc.s.root, watchMask)
	if err != nil {
		return fmt.Sprintf("unable to watch %s: %s", sc.s.root, errstr.Text(err))
	}
	sc.wd.Store(int32(wd))
	return unwatchable(sc.s.root)
}

func (sc *scanner) readInotify() {
	buf := make([]byte, 4096)
	for {
		n, err := sc.file.Read(buf)
		if err != nil {
			return
		}
		if lostWatch(buf[:n], sc.wd.Load()) {
			select {
			case sc.lost <- struct{}{}:
			default:
			}
		}
		sc.s.post(sc.s.scan)
	}
}

// lostWatch: one of the inotify events read says the watch wd no longer
// follows the root path (events of an earlier watch do not count). A
// record running past the end is not read (the kernel never sends one).
func lostWatch(events []byte, wd int32) bool {
	for len(events) >= unix.SizeofInotifyEvent {
		if int32(binary.NativeEndian.Uint32(events[0:4])) == wd && binary.NativeEndian.Uint32(events[4:8])&lostMask != 0 {
			return true
		}
		next := unix.SizeofInotifyEvent + uint64(binary.NativeEndian.Uint32(events[12:16]))
		if next > uint64(len(events)) {
			break
		}
		events = events[next:]
	}
	return false
}

// poll is the safety net, running while inotify is not enough (why says
// why at the start; the reader says when the watch is lost). Each check
// also tries the watch again: a root that did not exist, or was replaced,
// is watched as soon as it can be, and the checks stop.
func (sc *scanner) poll(why string) {
	defer close(sc.gone)
	var ticker *time.Ticker
	var tick <-chan time.Time
	var last unix.Stat_t
	_ = unix.Stat(sc.s.root, &last) // the first scan is Start's
	start := func(why string) {
		if ticker != nil {
			return
		}
		if sc.s.opts.Rescan <= 0 {
			svlog.Warn("%s: new services are found only by svscanctl -a or SIGHUP (--rescan 0)", why)
			return
		}
		svlog.Warn("%s: checking %s every %v", why, sc.s.root, sc.s.opts.Rescan)
		ticker = time.NewTicker(sc.s.opts.Rescan)
		tick = ticker.C
	}
	if why != "" {
		start(why)
	}
	for {
		select {
		case <-tick:
			if rootChanged(sc.s.root, &last) {
				sc.s.post(sc.s.scan)
			}
			if sc.watch() == "" {
				svlog.Info("watching %s with inotify alone", sc.s.root)
				ticker.Stop()
				ticker, tick = nil, nil
				sc.s.post(sc.s.scan)
			}
		case <-sc.lost:
			if wd := sc.wd.Swap(-1); wd >= 0 {
				_, _ = unix.InotifyRmWatch(sc.fd, uint32(wd)) // a moved root's watch follows it
			}
			start(fmt.Sprintf("lost the inotify watch of %s (removed, moved or unmounted)", sc.s.root))
		case <-sc.done:
			if ticker != nil {
				ticker.Stop()
			}
			return
		}
	}
}

// rootChanged: the root is not the directory it was at the last check, or
// has had entries made or removed since (its mtime or ctime moved).
func rootChanged(root string, last *unix.Stat_t) bool {
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err == nil && st.Dev == last.Dev && st.Ino == last.Ino && st.Mtim == last.Mtim && st.Ctim == last.Ctim {
		return false
	}
	*last = st
	return true
}

func (sc *scanner) close() {
	close(sc.done)
	<-sc.gone // poll no longer uses the descriptor
	if sc.file != nil {
		// Not in the loop's time: Close waits until readInotify's blocked
		// Read has returned, which took up to 15 ms of a container's stop
		// on a loaded machine. What it might still post, scan ignores
		// (the supervisor is stopping).
		go sc.file.Close()
	}
}
