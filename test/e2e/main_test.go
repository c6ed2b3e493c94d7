// Package e2e runs svinit's example image in a real Docker engine: the real
// memcached, keepalived and gearmand under svinit as PID 1, driven with
// docker exec, docker stop and docker logs. TestMain starts dockerd itself
// (and stops it, by its pid, at the end) and builds every image locally:
// no registry is reachable, so the Debian base comes from debootstrap +
// docker import (see ../shared/docs/docker-e2e.md).
//
// Where the engine cannot start, the suite says so loudly and runs the same
// service tree with the real daemons under unshare/nsenter instead; it never
// passes silently.
package e2e

import (
	"fmt"
	"os"
	"testing"
)

// fallback is set when no Docker engine could be started: the tests then
// run under unshare/nsenter (see fallback_test.go).
var fallback string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e: must run as root (starts dockerd, makes namespaces)")
		return 1
	}
	engine, err := startEngine()
	if err != nil {
		fallback = err.Error()
		banner("NO DOCKER ENGINE: " + fallback + "\nRUNNING THE SAME CHECKS UNDER unshare/nsenter INSTEAD")
		return m.Run()
	}
	defer engine.stop()
	if err := buildImages(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the images: %v\n", err)
		return 1
	}
	return m.Run()
}

func banner(msg string) {
	line := "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	fmt.Fprintf(os.Stderr, "%s\n%s\n%s\n", line, msg, line)
}
