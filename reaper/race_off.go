//go:build !race

package reaper

// raceEnabled: the race detector is in; its atomics need a P (orphans.go).
const raceEnabled = false
