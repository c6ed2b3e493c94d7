package errstr

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestText(t *testing.T) {
	_, statErr := os.Stat("/nonexistent/x")
	_, lookErr := exec.LookPath("no-such-program-anywhere")
	for _, c := range []struct {
		err  error
		want string
	}{
		{unix.ENOENT, "file does not exist"},
		{unix.EACCES, "access denied"},
		{unix.ENOSPC, "out of disk space"},
		{statErr, "file does not exist"},
		{&os.PathError{Op: "open", Path: "/x", Err: unix.EISDIR}, "is a directory"},
		{lookErr, "file does not exist"},
		{unix.EHWPOISON, unix.EHWPOISON.Error()},
		{errors.New(" not a number \n"), "not a number"},
		{nil, "no error"},
	} {
		require.Equal(t, c.want, Text(c.err), "%v", c.err)
	}
	require.EqualError(t, Unable("open", "/service/web/supervise/ok", unix.ENXIO),
		"unable to open /service/web/supervise/ok: device not configured")
}
