package svdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/svinit/svinit/internal/errstr"

	"golang.org/x/sys/unix"
)

// Supervise is the supervisor's side of one SERVICE/supervise directory: it
// holds both locks on lock, the control FIFO (read) and, once the first
// status is written, the ok FIFO (never read) that tells clients a supervisor
// is alive.
type Supervise struct {
	Path    string   // the supervise directory (a symlink's target is created)
	Control *os.File // the control FIFO, non-blocking: reads wait in the poller
	lock    *os.File
	ok      *os.File
	written map[string]string // what each file holds: an unchanged file is not written again
	spare   map[string]bool   // NAME.new is the spare replace swaps with NAME
	s6      bool              // s6's layout: 35-byte status, event/, death_tally (s6.go)
}

// Open takes over SERVICE/supervise, creating what is missing. It fails when
// another supervisor (svinit, supervise, runsv or s6-supervise) holds it.
func Open(service string) (*Supervise, error) { return OpenMode(service, false) }

// OpenMode is Open; with s6, in s6 2.11's layout (docs/s6-protocol.md):
// SERVICE/event is made first (mode 03730), lock is 0644, the listeners'
// FIFOs left by the last supervisor are cleaned and death_tally emptied.
func OpenMode(service string, s6 bool) (*Supervise, error) {
	dir := filepath.Join(service, "supervise")
	if s6 {
		if err := MakeEventDir(service); err != nil {
			return nil, err
		}
	}
	if err := MakePrivateDir(dir); err != nil {
		return nil, err
	}
	s := &Supervise{Path: dir, written: map[string]string{}, spare: map[string]bool{}, s6: s6}
	if err := s.takeLock(); err != nil {
		return nil, err
	}
	if s6 {
		_ = CleanEvents(service) // an unreadable event/ is reported by the first notification
		if err := s.replace(DeathTallyFile, nil); err != nil {
			s.Close()
			return nil, err
		}
	}
	ctl, err := openFifo(filepath.Join(dir, "control"), unix.O_RDWR)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Control = ctl
	return s, nil
}

// MakePrivateDir creates dir with mode 0700. A symlink (the way to give a
// read-only service directory a writable supervise/) gets its target created.
// A directory that exists but belongs to another user is refused: whoever
// made it could hold its FIFOs open and control the service.
func MakePrivateDir(dir string) error {
	if target, err := os.Readlink(dir); err == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(dir), target)
		}
		dir = target
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return fmt.Errorf("unable to create %s: %s", filepath.Dir(dir), errstr.Text(err))
		}
	}
	err := os.Mkdir(dir, 0o700)
	if err != nil && !errors.Is(err, os.ErrExist) {
		hint := ""
		if errors.Is(err, unix.EROFS) {
			hint = " (on a read-only tree, make supervise a symlink to a writable place such as /run/svinit/NAME)"
		}
		return fmt.Errorf("unable to create %s: %s%s", dir, errstr.Text(err), hint)
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return fmt.Errorf("unable to use %s: not a directory", dir)
	}
	if owner := st.Sys().(*syscall.Stat_t).Uid; int(owner) != os.Geteuid() {
		return fmt.Errorf("unable to use %s: owned by uid %d, not by svinit's uid %d", dir, owner, os.Geteuid())
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("unable to set mode 0700 on %s: %s", dir, errstr.Text(err))
	}
	return nil
}

// takeLock holds flock (what supervise and runsv test) and an OFD write lock
// (what s6-supervise tests) on supervise/lock.
func (s *Supervise) takeLock() error {
	path := filepath.Join(s.Path, "lock")
	mode := uint32(0o600)
	if s.s6 {
		mode = 0o644 // s6-svok and s6-svstat open it for reading, as any user
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, mode)
	if err != nil {
		return fmt.Errorf("unable to open %s: %s", path, errstr.Text(err))
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		return fmt.Errorf("unable to lock %s: another supervisor runs this service", path)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk); err != nil {
		unix.Close(fd)
		return fmt.Errorf("unable to lock %s: another supervisor runs this service", path)
	}
	s.lock = os.NewFile(uintptr(fd), path)
	return nil
}

// openFifo makes a FIFO (mode 0600) if there is none and opens it without
// blocking. An existing file that is not a FIFO is an error, never replaced.
func openFifo(path string, mode int) (*os.File, error) {
	err := unix.Mkfifo(path, 0o600)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("unable to create %s: %s", path, errstr.Text(err))
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil, fmt.Errorf("unable to use %s: not a FIFO", path)
	}
	_ = unix.Chmod(path, 0o600)
	fd, err := unix.Open(path, mode|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("unable to open %s: %s", path, errstr.Text(err))
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Listen opens the ok FIFO: from now on clients see a live supervisor. Call it
// after the first Announce.
func (s *Supervise) Listen() error {
	if s.ok != nil {
		return nil
	}
	ok, err := openFifo(filepath.Join(s.Path, "ok"), unix.O_RDONLY)
	if err != nil {
		return err
	}
	s.ok = ok
	return nil
}

// Announce writes svinit's own info file, then status, stat and pid, each
// to NAME.new then renamed. The info file goes first: a reader that sees
// the new status (svstat --json) then finds the info that goes with it.
func (s *Supervise) Announce(st Status, exiting bool, info *Info) error {
	if info != nil {
		j, _ := json.Marshal(info)
		if err := s.replace(InfoFile, append(j, '\n')); err != nil {
			return err
		}
	}
	b := st.Encode()
	if err := s.replace("status", b[:]); err != nil {
		return err
	}
	return s.announceText(st, exiting)
}

// AnnounceS6 is Announce in s6's layout: the 35-byte status in place of
// the 20-byte one; svinit.json, stat and pid as ever.
func (s *Supervise) AnnounceS6(s6 S6Status, st Status, exiting bool, info *Info) error {
	if info != nil {
		j, _ := json.Marshal(info)
		if err := s.replace(InfoFile, append(j, '\n')); err != nil {
			return err
		}
	}
	b := s6.Encode()
	if err := s.replace("status", b[:]); err != nil {
		return err
	}
	return s.announceText(st, exiting)
}

// WriteDeaths replaces death_tally (s6 layout).
func (s *Supervise) WriteDeaths(deaths []Death) error {
	return s.replace(DeathTallyFile, EncodeDeaths(deaths))
}

// announceText writes runit's stat and pid text files.
func (s *Supervise) announceText(st Status, exiting bool) error {
	if err := s.replace("stat", []byte(st.StatText(exiting))); err != nil {
		return err
	}
	pid := ""
	if st.Pid != 0 {
		pid = strconv.Itoa(st.Pid) + "\n"
	}
	return s.replace("pid", []byte(pid))
}

// replace writes name atomically: the new content goes to NAME.new, which
// then takes NAME's place, so a reader that opens NAME sees the old record
// or the new one, never half of one. A file that would not change is left
// alone.
//
// The first write of NAME makes NAME.new with O_EXCL|O_NOFOLLOW (whatever
// was there is removed first: a planted symlink is never followed) and
// renames it over NAME. Later writes swap NAME and NAME.new
// (renameat2 RENAME_EXCHANGE): the record it replaced stays as NAME.new,
// the spare that the next write truncates and fills before the next swap.
// No inode is made or freed per write (on ext4 each new inode was a scan
// of the recently freed ones: most of svinit's CPU at 1,000 services). Only
// a reader that opened NAME before one swap and reads after the next could
// see the spare being filled. The spare is only ever a file this Supervise
// made itself; one that is not a plain file any more is replaced, never
// followed. Where the file system has no RENAME_EXCHANGE, each write is a
// new file and a rename, as before.
func (s *Supervise) replace(name string, data []byte) error {
	if old, ok := s.written[name]; ok && old == string(data) {
		return nil
	}
	path := filepath.Join(s.Path, name)
	if s.spare[name] {
		if err := fillSpare(path, data); err == nil {
			s.written[name] = string(data)
			return nil
		}
		s.spare[name] = false // gone or replaced behind svinit's back: a new one
	}
	open := func() (int, error) {
		return unix.Open(path+".new", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	}
	fd, err := open()
	if errors.Is(err, unix.EEXIST) {
		_ = unix.Unlink(path + ".new")
		fd, err = open()
	}
	if err != nil {
		return fmt.Errorf("unable to write %s.new: %s", path, errstr.Text(err))
	}
	_, werr := unix.Write(fd, data)
	unix.Close(fd)
	if werr != nil {
		return fmt.Errorf("unable to write %s.new: %s", path, errstr.Text(werr))
	}
	if _, ours := s.written[name]; ours && unix.Renameat2(unix.AT_FDCWD, path+".new", unix.AT_FDCWD, path, unix.RENAME_EXCHANGE) == nil {
		s.spare[name] = true // the record replaced, a file made here, is the spare
	} else if err := os.Rename(path+".new", path); err != nil {
		return fmt.Errorf("unable to rename %s.new: %s", path, errstr.Text(err))
	}
	s.written[name] = string(data)
	return nil
}

// fillSpare writes data over the spare NAME.new and swaps it with NAME.
func fillSpare(path string, data []byte) error {
	fd, err := unix.Open(path+".new", unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	if err == nil && (st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1) {
		err = unix.EINVAL // not the spare svinit made: left as it is
	}
	if err == nil {
		var n int
		n, err = unix.Pwrite(fd, data, 0)
		if err == nil && n != len(data) {
			err = unix.EIO
		}
	}
	if err == nil && st.Size != int64(len(data)) {
		err = unix.Ftruncate(fd, int64(len(data)))
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	return unix.Renameat2(unix.AT_FDCWD, path+".new", unix.AT_FDCWD, path, unix.RENAME_EXCHANGE)
}

// Close stops supervising: clients get "not running" from now on.
func (s *Supervise) Close() {
	for _, f := range []*os.File{s.ok, s.Control, s.lock} {
		if f != nil {
			f.Close()
		}
	}
	s.ok, s.Control, s.lock = nil, nil, nil
}
