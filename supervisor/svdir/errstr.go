package svdir

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// djbErrors are the words daemontools and runit use for errno values
// (djb's error_str), so that our applets print what theirs print.
var djbErrors = map[unix.Errno]string{
	unix.EINTR: "interrupted system call", unix.ENOMEM: "out of memory",
	unix.ENOENT: "file does not exist", unix.EIO: "input/output error",
	unix.EEXIST: "file already exists", unix.EPERM: "permission denied",
	unix.EACCES: "access denied", unix.ENXIO: "device not configured",
	unix.ENOTDIR: "not a directory", unix.EISDIR: "is a directory",
	unix.EAGAIN: "temporary failure", unix.EROFS: "read-only file system",
	unix.ENOSPC: "out of disk space", unix.EMFILE: "out of file descriptors",
	unix.ENFILE: "file descriptor table full", unix.EPIPE: "broken pipe",
	unix.ESRCH: "no such process", unix.EINVAL: "invalid argument",
	unix.ELOOP: "symbolic link loop", unix.ENAMETOOLONG: "file name too long",
	unix.EBUSY: "device busy", unix.ENOEXEC: "exec format error",
	unix.ETXTBSY: "text busy", unix.EBADF: "file descriptor not open",
}

// ErrStr is the djb wording of err's errno, or err's own text.
func ErrStr(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		if s, ok := djbErrors[errno]; ok {
			return s
		}
		return errno.Error()
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	if errors.Is(err, os.ErrNotExist) {
		return "file does not exist"
	}
	return strings.TrimSpace(err.Error())
}
