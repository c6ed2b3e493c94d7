package svdir

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/svinit/svinit/internal/errstr"

	"golang.org/x/sys/unix"
)

// s6 2.11's side of supervise/ (docs/s6-protocol.md): the 35-byte status,
// the event/ fifodir its clients subscribe to, and supervise/death_tally.

// S6StatusSize is the size of s6's supervise/status.
const S6StatusSize = 35

// s6TAIOffset turns Unix seconds into the TAI64 label skalibs writes: 2^62,
// plus 10, plus the 27 leap seconds since 1972 (s6-svstat's updownsince
// prints this label; its seconds are differences, so only the offset's
// constancy matters to the others).
const s6TAIOffset = 0x4000000000000000 + 37

// Flag bits of byte 34.
const (
	s6FlagPaused    = 1
	s6FlagFinishing = 2
	s6FlagWantUp    = 4
	s6FlagReady     = 8
)

// S6Status is one s6 supervise/status record.
type S6Status struct {
	Stamp      time.Time // the last change between up and down
	ReadyStamp time.Time // the last readiness (notified, or down after ./finish)
	Pid        int       // ./run's pid; ./finish's while Finishing; 0 when down
	Wstat      uint16    // the wait status of ./run's last exit, as waitpid gives it
	Paused     bool
	Finishing  bool
	WantUp     bool
	Ready      bool
}

// PackTAI64N writes t as skalibs' 12-byte TAI64N label.
func PackTAI64N(b []byte, t time.Time) {
	binary.BigEndian.PutUint64(b[0:8], uint64(s6TAIOffset+t.Unix()))
	binary.BigEndian.PutUint32(b[8:12], uint32(t.Nanosecond()))
}

// UnpackTAI64N reads a 12-byte TAI64N label.
func UnpackTAI64N(b []byte) time.Time {
	nsec := int64(binary.BigEndian.Uint32(b[8:12]))
	if nsec >= 1e9 {
		nsec = 0
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b[0:8])-s6TAIOffset), nsec)
}

// Encode writes s in s6's 35-byte layout.
func (s S6Status) Encode() [S6StatusSize]byte {
	var b [S6StatusSize]byte
	PackTAI64N(b[0:12], s.Stamp)
	PackTAI64N(b[12:24], s.ReadyStamp)
	binary.BigEndian.PutUint64(b[24:32], uint64(s.Pid))
	binary.BigEndian.PutUint16(b[32:34], s.Wstat)
	for _, f := range []struct {
		on  bool
		bit byte
	}{{s.Paused, s6FlagPaused}, {s.Finishing, s6FlagFinishing}, {s.WantUp, s6FlagWantUp}, {s.Ready, s6FlagReady}} {
		if f.on {
			b[34] |= f.bit
		}
	}
	return b
}

// DecodeS6 reads s6's 35-byte status.
func DecodeS6(b []byte) (S6Status, error) {
	if len(b) != S6StatusSize {
		return S6Status{}, errors.New("bad format")
	}
	return S6Status{
		Stamp:      UnpackTAI64N(b[0:12]),
		ReadyStamp: UnpackTAI64N(b[12:24]),
		Pid:        int(binary.BigEndian.Uint64(b[24:32])),
		Wstat:      binary.BigEndian.Uint16(b[32:34]),
		Paused:     b[34]&s6FlagPaused != 0,
		Finishing:  b[34]&s6FlagFinishing != 0,
		WantUp:     b[34]&s6FlagWantUp != 0,
		Ready:      b[34]&s6FlagReady != 0,
	}, nil
}

// Runit is the same state as the 20-byte record svinit's own clients read
// (svstat, sv): s6's finishing is runit's finish state.
func (s S6Status) Runit() Status {
	st := Status{When: s.Stamp, Pid: s.Pid, Want: 'd'}
	if s.WantUp {
		st.Want = 'u'
	}
	switch {
	case s.Pid == 0:
		st.State = StateDown
	case s.Finishing:
		st.State = StateFinish
	default:
		st.State, st.Paused = StateRun, s.Paused
	}
	return st
}

// ftrig1Prefix starts the name of every FIFO a listener makes in event/:
// "ftrig1:@" then a 24-hex-digit TAI64N label, ':' and 6 random characters.
const (
	ftrig1Prefix    = "ftrig1:@"
	ftrig1NameLen   = len("ftrig1") + 33
	ftrig1TempLen   = len("ftrig1") + 43 // ".ftrig1:@…:XXXXXX" before its rename, as s6 cleans them
	eventDirMode    = 0o3730             // setgid, sticky, group may create FIFOs but not list
	eventDirModeAll = 0o1733             // no group: anyone may create FIFOs
)

// MakeEventDir creates SERVICE/event as s6-supervise does: mode 03730 and
// svinit's effective group. An existing directory is left as it is; a
// symlink gets its target created.
func MakeEventDir(service string) error {
	dir := filepath.Join(service, "event")
	if target, err := os.Readlink(dir); err == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(service, target)
		}
		dir = target
	}
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, os.ErrExist) {
		st, serr := os.Stat(dir)
		if serr != nil || !st.IsDir() {
			return fmt.Errorf("unable to use %s: not a directory", dir)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("unable to create %s: %s", dir, errstr.Text(err))
	}
	if err := os.Chown(dir, -1, os.Getegid()); err != nil {
		return fmt.Errorf("unable to chown %s: %s", dir, errstr.Text(err))
	}
	if err := unix.Chmod(dir, eventDirMode); err != nil {
		return fmt.Errorf("unable to chmod %s: %s", dir, errstr.Text(err))
	}
	return nil
}

// CleanEvents removes the FIFOs in dir/event no listener reads any more,
// as s6-supervise does when it starts.
func CleanEvents(service string) error {
	dir := filepath.Join(service, "event")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("unable to read %s: %s", dir, errstr.Text(err))
	}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, "ftrig1") || len(n) != ftrig1TempLen {
			continue
		}
		path := filepath.Join(dir, n)
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		} else if errors.Is(err, unix.ENXIO) {
			_ = unix.Unlink(path)
		}
	}
	return nil
}

// NotifyEvents writes the event bytes to every listener's FIFO in
// SERVICE/event, never blocking: a FIFO nobody reads (ENXIO) or whose
// reader went away (EPIPE) is removed, a full one misses the event (s6's
// rule: the reader must keep up). It returns how many got the bytes.
func NotifyEvents(service string, events []byte) (int, error) {
	dir := filepath.Join(service, "event")
	f, err := os.Open(dir)
	if err != nil {
		return 0, fmt.Errorf("unable to open %s: %s", dir, errstr.Text(err))
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("unable to read %s: %s", dir, errstr.Text(err))
	}
	sent := 0
	for _, n := range names {
		if !strings.HasPrefix(n, ftrig1Prefix) || len(n) != ftrig1NameLen {
			continue
		}
		path := filepath.Join(dir, n)
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			if errors.Is(err, unix.ENXIO) {
				_ = unix.Unlink(path)
			}
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			unix.Close(fd) // not a FIFO: never written to
			continue
		}
		w, err := unix.Write(fd, events)
		unix.Close(fd)
		switch {
		case errors.Is(err, syscall.EPIPE):
			_ = unix.Unlink(path)
		case err == nil && w == len(events):
			sent++
		}
	}
	return sent, nil
}

// DeathTallyFile holds ./run's last deaths, 14 bytes each: the TAI64N label
// of the death, the exit code (128+N for signal N) and the signal (0 if
// it exited), oldest first (s6-svdt, s6-permafailon).
const DeathTallyFile = "death_tally"

// Death is one record of DeathTallyFile.
type Death struct {
	When time.Time
	Code byte
	Sig  byte
}

// EncodeDeaths packs deaths in DeathTallyFile's layout.
func EncodeDeaths(deaths []Death) []byte {
	out := make([]byte, 0, 14*len(deaths))
	for _, d := range deaths {
		var b [14]byte
		PackTAI64N(b[:12], d.When)
		b[12], b[13] = d.Code, d.Sig
		out = append(out, b[:]...)
	}
	return out
}
