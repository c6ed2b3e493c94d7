//go:build system

package svdir

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Tests that need root (the system tag: .ci/run sets it, a plain go test
// leaves them out).

// A supervise/ directory that someone else made (say, a non-root user who
// got to a shared /run first, keeping its FIFOs open) is refused, named.
func TestForeignSuperviseRefused(t *testing.T) {
	dir := t.TempDir()
	sup := filepath.Join(dir, "supervise")
	require.NoError(t, os.Mkdir(sup, 0o700))
	require.NoError(t, os.Chown(sup, 65534, 65534))
	_, err := Open(dir)
	require.EqualError(t, err, "unable to use "+sup+": owned by uid 65534, not by svinit's uid 0")
	entries, _ := os.ReadDir(sup)
	require.Empty(t, entries, "nothing was made in it")
}
