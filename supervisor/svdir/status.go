// Package svdir is the on-disk supervise/ protocol shared by the supervisor
// and every client applet: the 20-byte status (runit's layout, which
// daemontools' svstat reads too), the control and ok FIFOs, both locks on
// supervise/lock, and the stat and pid text files. It starts no processes.
// The byte-level spec is docs/supervise-protocol.md.
package svdir

import (
	"encoding/binary"
	"fmt"
	"time"
)

// StatusSize is the size of supervise/status: runit's sv needs all 20 bytes,
// daemontools' svstat reads the first 18.
const StatusSize = 20

// taiOffset turns Unix seconds into the TAI64 label daemontools and runit
// write: 2^62 + 10 + t (exactly +10: sv restart compares these seconds with
// its own clock).
const taiOffset = 0x400000000000000A

// Process states in byte 19 of the status.
const (
	StateDown   = 0
	StateRun    = 1
	StateFinish = 2
)

// Status is one supervise/status record.
type Status struct {
	When    time.Time // runit: when run started, or when the service became down
	Pid     int       // run's pid, finish's pid while finishing, 0 when down
	Paused  bool
	Want    byte // 'u' or 'd'
	GotTerm bool // TERM was sent and the process has not exited yet
	State   byte // StateDown, StateRun or StateFinish
}

// Encode writes s in the 20-byte layout.
func (s Status) Encode() [StatusSize]byte {
	var b [StatusSize]byte
	binary.BigEndian.PutUint64(b[0:8], uint64(taiOffset+s.When.Unix()))
	binary.BigEndian.PutUint32(b[8:12], uint32(s.When.Nanosecond()/1000*1000+500))
	binary.LittleEndian.PutUint32(b[12:16], uint32(s.Pid))
	if s.Paused {
		b[16] = 1
	}
	b[17] = s.Want
	if s.GotTerm {
		b[18] = 1
	}
	b[19] = s.State
	return b
}

// Decode reads a status. 18 bytes (daemontools' format) are accepted, with
// the state taken from the pid; fewer are "bad format".
func Decode(b []byte) (Status, error) {
	if len(b) < 18 {
		return Status{}, fmt.Errorf("bad format")
	}
	sec := int64(binary.BigEndian.Uint64(b[0:8]) - taiOffset)
	nsec := int64(binary.BigEndian.Uint32(b[8:12]))
	if nsec >= 1e9 {
		nsec = 0
	}
	s := Status{
		When:   time.Unix(sec, nsec),
		Pid:    int(binary.LittleEndian.Uint32(b[12:16])),
		Paused: b[16] != 0,
		Want:   b[17],
	}
	if len(b) >= StatusSize {
		s.GotTerm = b[18] != 0
		s.State = b[19]
	} else if s.Pid != 0 {
		s.State = StateRun
	}
	return s, nil
}

// Age is the whole seconds since s.When, as the clients print it; a stamp in
// the future gives 0.
func (s Status) Age(now time.Time) int64 {
	d := now.Unix() - s.When.Unix()
	if d < 0 {
		return 0
	}
	return d
}

// StatText is runit's supervise/stat line: "run", "down" or "finish", then
// ", paused", ", got TERM", and ", want down" or ", want exit" when not down.
func (s Status) StatText(exiting bool) string {
	t := [...]string{StateDown: "down", StateRun: "run", StateFinish: "finish"}[s.State%3]
	if s.Paused {
		t += ", paused"
	}
	if s.GotTerm {
		t += ", got TERM"
	}
	if s.State != StateDown {
		switch {
		case exiting:
			t += ", want exit"
		case s.Want == 'd':
			t += ", want down"
		}
	}
	return t + "\n"
}
