package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGetopt(t *testing.T) {
	opts, rest, bad := getopt([]string{"-dx", "-w", "5", "-v5", "--", "-h", "dir"}, "dxw:v:")
	require.Zero(t, bad)
	require.Equal(t, []opt{{'d', ""}, {'x', ""}, {'w', "5"}, {'v', "5"}}, opts)
	require.Equal(t, []string{"-h", "dir"}, rest)
	_, _, bad = getopt([]string{"-q"}, "dx")
	require.Equal(t, byte('q'), bad)
}

// getopt never panics, whatever the arguments.
func FuzzGetopt(f *testing.F) {
	f.Add("-dx -w 5 dir", "dxw:")
	f.Add("-", ":")
	f.Fuzz(func(t *testing.T, args, letters string) {
		getopt(strings.Fields(args), letters)
	})
}
