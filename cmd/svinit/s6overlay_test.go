package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// svinit as /init is s6-overlay's init; the generated scripts reach the
// hidden applets by svinit's name and by /init's.
func TestPickS6Overlay(t *testing.T) {
	name, args := pick([]string{"/init", "nginx", "-g", "daemon off;"})
	require.Equal(t, "init", name)
	require.Equal(t, []string{"nginx", "-g", "daemon off;"}, args, "every argument is the CMD")
	name, args = pick([]string{"/usr/local/sbin/svinit", "--s6-overlay-stage", "cont-init", "0", "2", "5000", "0", "/"})
	require.Equal(t, "--s6-overlay-stage", name)
	require.Equal(t, []string{"cont-init", "0", "2", "5000", "0", "/"}, args)
	for _, n := range []string{"with-contenv", "printcontenv"} {
		name, _ = pick([]string{"/command/" + n, "sh"})
		require.Equal(t, n, name)
	}
	require.Equal(t, 100, runS6Init([]string{"--s6-overlay-stage", "bogus"}), "the hidden stage reached through /init")
	require.Equal(t, 100, runPrintcontenv(nil))
}
