package svdir

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The prototype's "run" record from docs/supervise-protocol.md, byte for byte
// (apart from the nanoseconds, which every client ignores).
func TestEncodeMatchesSpec(t *testing.T) {
	want, _ := hex.DecodeString("400000006b04e12b2dbc06f30800000000750001")
	st, err := Decode(want)
	require.NoError(t, err)
	require.Equal(t, Status{When: st.When, Pid: 8, Want: 'u', State: StateRun}, st)
	got := st.Encode()
	require.Equal(t, want[:8], got[:8], "TAI64 label")
	require.Equal(t, want[12:], got[12:], "pid, paused, want, term, state")
}

func TestRoundTrip(t *testing.T) {
	when := time.Unix(1795000000, 123456000)
	for _, st := range []Status{
		{When: when, Pid: 0x01020304, Paused: true, Want: 'd', GotTerm: true, State: StateFinish},
		{When: when, Want: 'u'},
	} {
		b := st.Encode()
		got, err := Decode(b[:])
		require.NoError(t, err)
		require.Equal(t, st.When.Unix(), got.When.Unix())
		require.Equal(t, st.When.Nanosecond()/1000, got.When.Nanosecond()/1000)
		got.When = st.When
		require.Equal(t, st, got)
	}
	b := Status{Pid: 0x01020304}.Encode()
	require.Equal(t, []byte{4, 3, 2, 1}, b[12:16], "pid is little-endian")
	_, err := Decode(b[:17])
	require.EqualError(t, err, "bad format")
	st, err := Decode(b[:18])
	require.NoError(t, err)
	require.Equal(t, byte(StateRun), st.State, "daemontools' 18 bytes: state from the pid")
}

func TestStatText(t *testing.T) {
	require.Equal(t, "run\n", Status{State: StateRun, Want: 'u'}.StatText(false))
	require.Equal(t, "run, paused, got TERM, want down\n", Status{State: StateRun, Paused: true, GotTerm: true, Want: 'd'}.StatText(false))
	require.Equal(t, "finish, want exit\n", Status{State: StateFinish, Want: 'd'}.StatText(true))
	require.Equal(t, "down\n", Status{Want: 'd'}.StatText(false))
}

func TestAge(t *testing.T) {
	now := time.Unix(1000, 0)
	require.Equal(t, int64(5), Status{When: time.Unix(995, 0)}.Age(now))
	require.Equal(t, int64(0), Status{When: time.Unix(1005, 0)}.Age(now))
}

// Open creates the files with the spec's modes, takes both locks (a second
// Open fails), and clients see it alive only after Listen.
func TestOpenAnnounceClose(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	_, err = Open(dir)
	require.ErrorContains(t, err, "another supervisor runs this service")
	require.ErrorIs(t, Alive(dir), os.ErrNotExist)

	st := Status{When: time.Now(), Pid: 42, Want: 'u', State: StateRun}
	require.NoError(t, s.Announce(st, false, &Info{State: "up", Restarts: 2}))
	require.NoError(t, s.Listen())
	require.NoError(t, Alive(dir))
	got, err := ReadStatus(dir, true)
	require.NoError(t, err)
	require.Equal(t, 42, got.Pid)
	pid, _ := os.ReadFile(filepath.Join(dir, "supervise/pid"))
	require.Equal(t, "42\n", string(pid))
	info, ok := ReadInfo(dir)
	require.True(t, ok)
	require.Equal(t, 2, info.Restarts)

	modes := map[string]string{}
	for _, n := range []string{"", "control", "ok", "lock", "status"} {
		fi, err := os.Lstat(filepath.Join(dir, "supervise", n))
		require.NoError(t, err)
		modes[n] = fi.Mode().String()
	}
	require.Equal(t, map[string]string{"": "drwx------", "control": "prw-------", "ok": "prw-------",
		"lock": "-rw-------", "status": "-rw-r--r--"}, modes)

	require.NoError(t, Control(dir, []byte("hx")))
	buf := make([]byte, 8)
	n, err := s.Control.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "hx", string(buf[:n]))

	s.Close()
	require.ErrorIs(t, Alive(dir), ErrNotRunning)
	require.ErrorIs(t, Control(dir, []byte("u")), ErrNotRunning)
	s2, err := Open(dir)
	require.NoError(t, err, "the locks went with Close")
	s2.Close()
}

// A supervise symlink (read-only service directory) gets its target made;
// a file planted as status.new is replaced, never followed.
func TestSymlinkAndPlanted(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "run/svinit/web")
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "supervise")))
	s, err := Open(dir)
	require.NoError(t, err)
	defer s.Close()
	outside := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(outside, []byte("keep"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(target, "status.new")))
	require.NoError(t, s.Announce(Status{Want: 'u'}, false, nil))
	b, _ := os.ReadFile(outside)
	require.Equal(t, "keep", string(b))
	fi, err := os.Lstat(filepath.Join(target, "status"))
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular())
}

// A symlink planted under any of supervise/'s names never sends a write (or
// a new file) outside: status, stat, pid and svinit.json replace the link
// itself; lock, control and ok are refused with the path named.
func TestPlantedSymlinksNeverFollowed(t *testing.T) {
	for _, name := range []string{"lock", "control", "ok", "status", "stat", "pid", InfoFile} {
		t.Run(name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			sup := filepath.Join(dir, "supervise")
			require.NoError(t, os.Mkdir(sup, 0o700))
			victim := filepath.Join(outside, "victim")
			require.NoError(t, os.WriteFile(victim, []byte("keep"), 0o644))
			require.NoError(t, os.Symlink(victim, filepath.Join(sup, name)))
			dangling := filepath.Join(outside, "new")
			require.NoError(t, os.Symlink(dangling, filepath.Join(sup, name+".new")))
			s, err := Open(dir)
			if err == nil {
				err = s.Listen()
			}
			if err == nil {
				err = s.Announce(Status{Want: 'u', Pid: 42}, false, &Info{})
				s.Close()
			}
			switch name {
			case "lock", "control", "ok":
				require.ErrorContains(t, err, filepath.Join(sup, name))
			default:
				require.NoError(t, err)
				fi, err := os.Lstat(filepath.Join(sup, name))
				require.NoError(t, err)
				require.True(t, fi.Mode().IsRegular(), "the link itself was replaced")
			}
			b, _ := os.ReadFile(victim)
			require.Equal(t, "keep", string(b))
			require.NoFileExists(t, dangling)
			entries, _ := os.ReadDir(outside)
			require.Len(t, entries, 1, "nothing new outside supervise/")
		})
	}
}

func TestEpochOffset(t *testing.T) {
	b := Status{When: time.Unix(0, 0)}.Encode()
	require.Equal(t, "400000000000000a", hex.EncodeToString(b[:8]), "2^62 + 10 at the Unix epoch")
}

// From the second write on, status and status.new swap: no new inode per
// write, and each write is whole under its name. A file linked in as
// status.new from elsewhere is never written through.
func TestSpareSwap(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	defer s.Close()
	sup := filepath.Join(dir, "supervise")
	ino := func(name string) uint64 {
		fi, err := os.Lstat(filepath.Join(sup, name))
		require.NoError(t, err)
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	inodes := map[uint64]bool{}
	for pid := 1; pid <= 5; pid++ {
		require.NoError(t, s.Announce(Status{Want: 'u', Pid: pid, State: StateRun}, false, &Info{State: "up", Restarts: pid}))
		b, err := os.ReadFile(filepath.Join(sup, "status"))
		require.NoError(t, err)
		st, err := Decode(b)
		require.NoError(t, err)
		require.Equal(t, pid, st.Pid)
		in, ok := ReadInfo(dir)
		require.True(t, ok)
		require.Equal(t, pid, in.Restarts)
		inodes[ino("status")] = true
	}
	require.Len(t, inodes, 2, "status and its spare, swapped")

	outside := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(outside, []byte("keep"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(sup, "status.new")))
	require.NoError(t, os.Link(outside, filepath.Join(sup, "status.new")), "t.TempDir()s share a file system")
	require.NoError(t, s.Announce(Status{Want: 'u', Pid: 6, State: StateRun}, false, nil))
	b, _ := os.ReadFile(outside)
	require.Equal(t, "keep", string(b))
	st, err := Decode(mustRead(t, filepath.Join(sup, "status")))
	require.NoError(t, err)
	require.Equal(t, 6, st.Pid)
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
