package supervisor

import (
	"fmt"

	"github.com/svinit/svinit/internal/errstr"

	"golang.org/x/sys/unix"
)

// localFS are the filesystems every change of which goes through this
// kernel, so inotify hears of it: disk and memory filesystems, overlayfs
// (a container's root), and read-only ones, where nothing changes.
var localFS = map[int64]bool{
	unix.EXT4_SUPER_MAGIC: true, unix.XFS_SUPER_MAGIC: true, unix.BTRFS_SUPER_MAGIC: true,
	unix.TMPFS_MAGIC: true, unix.RAMFS_MAGIC: true, unix.OVERLAYFS_SUPER_MAGIC: true,
	unix.F2FS_SUPER_MAGIC: true, 0x2fc12fc1 /* zfs */ : true, unix.BCACHEFS_SUPER_MAGIC: true,
	unix.SQUASHFS_MAGIC: true, unix.EROFS_SUPER_MAGIC_V1: true, unix.ISOFS_SUPER_MAGIC: true,
	unix.MSDOS_SUPER_MAGIC: true, unix.EXFAT_SUPER_MAGIC: true, unix.NILFS_SUPER_MAGIC: true,
	unix.REISERFS_SUPER_MAGIC: true, 0x3153464a /* jfs */ : true,
}

// remoteFS names the filesystems where inotify misses changes made on
// another machine or by another kernel, for the log line.
var remoteFS = map[int64]string{
	unix.NFS_SUPER_MAGIC: "nfs", unix.FUSE_SUPER_MAGIC: "fuse", unix.V9FS_MAGIC: "9p",
	unix.CIFS_SUPER_MAGIC: "cifs", unix.SMB2_SUPER_MAGIC: "smb2", unix.CEPH_SUPER_MAGIC: "ceph",
	unix.AFS_SUPER_MAGIC: "afs",
}

// unwatchable says why inotify on dir may miss changes, or "" when it will
// not. A symlink (runit's runsvchdir swaps one) can be pointed at another
// directory without an event on the one watched.
func unwatchable(dir string) string {
	var lst unix.Stat_t
	if err := unix.Lstat(dir, &lst); err == nil && lst.Mode&unix.S_IFMT == unix.S_IFLNK {
		return fmt.Sprintf("%s is a symlink, which can be pointed elsewhere unseen by inotify", dir)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Sprintf("unable to statfs %s: %s", dir, errstr.Text(err))
	}
	return fsVerdict(dir, int64(st.Type))
}

func fsVerdict(dir string, fsType int64) string {
	if localFS[fsType] {
		return ""
	}
	name, ok := remoteFS[fsType]
	if !ok {
		name = fmt.Sprintf("a filesystem of type %#x", fsType)
	}
	return fmt.Sprintf("%s is on %s, where inotify may miss changes made elsewhere", dir, name)
}
