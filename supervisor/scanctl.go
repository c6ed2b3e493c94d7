package supervisor

import (
	"os"
	"path/filepath"

	"github.com/svinit/svinit/internal/errstr"

	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/supervisor/svdir"
	"golang.org/x/sys/unix"
)

// ScanControl is the FIFO svscanctl writes to, relative to the tree's root
// (a dot name, so never taken for a service).
const ScanControl = ".svinit/control"

// openScanControl makes ROOT/.svinit/control (.svinit may be a symlink to a
// writable place, as supervise/ may): 'a' or 'h' rescans now, 't'
// stops every service and svinit.
func (s *Supervisor) openScanControl() {
	path := filepath.Join(s.root, ScanControl)
	if err := svdir.MakePrivateDir(filepath.Dir(path)); err != nil {
		svlog.Warn("%s: svscanctl will not reach svinit", err)
		return
	}
	if err := unix.Mkfifo(path, 0o600); err != nil && err != unix.EEXIST {
		svlog.Warn("unable to create %s: %s: svscanctl will not reach svinit", path, errstr.Text(err))
		return
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		svlog.Warn("unable to open %s: %s: svscanctl will not reach svinit", path, errstr.Text(err))
		return
	}
	s.scanCtl = os.NewFile(uintptr(fd), path)
	go s.readScanControl(s.scanCtl)
}

func (s *Supervisor) readScanControl(f *os.File) {
	buf := make([]byte, 64)
	for {
		n, err := f.Read(buf)
		for _, c := range buf[:n] {
			switch c {
			case 'a', 'h':
				s.post(s.scan)
			case 't':
				s.post(func() { s.notify(Notice{Kind: NoticeStop}) })
			}
		}
		if err != nil {
			return
		}
	}
}
