package pid1

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// residentKiB is the Rss of this process's mappings of its own executable.
func residentKiB(t *testing.T) int {
	exe, err := os.Readlink("/proc/self/exe")
	require.NoError(t, err)
	b, err := os.ReadFile("/proc/self/smaps")
	require.NoError(t, err)
	total, ours := 0, false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 6 && strings.Contains(f[0], "-"):
			ours = f[5] == exe
		case len(f) == 3 && f[0] == "Rss:" && ours:
			n, _ := strconv.Atoi(f[1])
			total += n
		}
	}
	return total
}

// trim finds the executable's read-only mappings, drops their pages from
// the page tables (the resident size of the binary falls), and the process
// runs on: what it uses is faulted back in.
func TestTrimDropsCodePages(t *testing.T) {
	ms := readOnlyMappings()
	require.NotEmpty(t, ms, "the test binary's text and rodata")
	before := residentKiB(t)
	trim()
	after := residentKiB(t)
	t.Logf("executable resident: %d KiB before, %d KiB after", before, after)
	require.Less(t, after, before)
	require.Equal(t, "ok", strings.ToLower("OK"), "code still runs")
}
