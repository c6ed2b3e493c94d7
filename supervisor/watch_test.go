package supervisor

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Local filesystems are watched by inotify alone; any other gets the
// safety-net rescans, with a reason that names the directory and the
// filesystem.
func TestFSVerdict(t *testing.T) {
	for _, local := range []int64{unix.EXT4_SUPER_MAGIC, unix.TMPFS_MAGIC, unix.OVERLAYFS_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC} {
		require.Empty(t, fsVerdict("/service", local), "%#x", local)
	}
	require.Equal(t, "/service is on nfs, where inotify may miss changes made elsewhere", fsVerdict("/service", unix.NFS_SUPER_MAGIC))
	require.Equal(t, "/service is on fuse, where inotify may miss changes made elsewhere", fsVerdict("/service", unix.FUSE_SUPER_MAGIC))
	require.Equal(t, "/service is on a filesystem of type 0x1234, where inotify may miss changes made elsewhere", fsVerdict("/service", 0x1234))
	require.Empty(t, unwatchable(t.TempDir()), "the test's temporary directory is on a local filesystem")
	require.Contains(t, unwatchable("/nonexistent/service"), "unable to statfs /nonexistent/service: file does not exist")
	link := filepath.Join(t.TempDir(), "service")
	require.NoError(t, os.Symlink(t.TempDir(), link))
	require.Equal(t, link+" is a symlink, which can be pointed elsewhere unseen by inotify", unwatchable(link))
}

// inotifyEvent is one inotify event as read(2) returns it, with a padded name.
func inotifyEvent(wd int32, mask uint32, name string) []byte {
	n := 0
	if name != "" {
		n = (len(name) + 16) &^ 15
	}
	b := make([]byte, unix.SizeofInotifyEvent+n)
	binary.NativeEndian.PutUint32(b[0:4], uint32(wd))
	binary.NativeEndian.PutUint32(b[4:8], mask)
	binary.NativeEndian.PutUint32(b[12:16], uint32(n))
	copy(b[unix.SizeofInotifyEvent:], name)
	return b
}

// The watch is lost when the root itself goes (deleted, moved, unmounted);
// entries coming and going, and events of an earlier watch, do not count.
func TestLostWatch(t *testing.T) {
	join := func(evs ...[]byte) (b []byte) {
		for _, e := range evs {
			b = append(b, e...)
		}
		return b
	}
	require.False(t, lostWatch(join(inotifyEvent(1, unix.IN_CREATE|unix.IN_ISDIR, "new"), inotifyEvent(1, unix.IN_DELETE, "gone")), 1))
	require.True(t, lostWatch(join(inotifyEvent(1, unix.IN_CREATE, "a-long-service-name"), inotifyEvent(1, unix.IN_MOVE_SELF, "")), 1))
	require.True(t, lostWatch(inotifyEvent(1, unix.IN_DELETE_SELF, ""), 1))
	require.True(t, lostWatch(inotifyEvent(1, unix.IN_IGNORED, ""), 1))
	require.True(t, lostWatch(inotifyEvent(1, unix.IN_UNMOUNT, ""), 1))
	require.False(t, lostWatch(inotifyEvent(1, unix.IN_IGNORED, ""), 2), "the old watch's IN_IGNORED after inotify_rm_watch")
	require.False(t, lostWatch(inotifyEvent(1, unix.IN_Q_OVERFLOW, ""), 1))
	require.False(t, lostWatch(nil, 1))
	bad := inotifyEvent(1, unix.IN_CREATE, "x")
	binary.NativeEndian.PutUint32(bad[12:16], 1<<31)
	require.False(t, lostWatch(append(bad, inotifyEvent(1, unix.IN_IGNORED, "")...), 1), "a record claiming more than was read ends the reading, no panic")
}

// Whatever bytes a read of the inotify descriptor returns, lostWatch reads
// them without a panic (it runs in PID 1).
func FuzzLostWatch(f *testing.F) {
	f.Add(append(inotifyEvent(1, unix.IN_CREATE, "svc"), inotifyEvent(1, unix.IN_IGNORED, "")...), int32(1))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, int32(1))
	f.Fuzz(func(t *testing.T, events []byte, wd int32) {
		lostWatch(events, wd)
	})
}
