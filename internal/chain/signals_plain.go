//go:build !(quietsysmon && linux && (amd64 || arm64))

package chain

// signalsAtStart cannot know the signals at start-up without the release
// build's go:linkname (signals_runtime.go): the program gets the signal mask
// as the Go runtime left it (SIGHUP, SIGINT, SIGTERM, SIGQUIT... unblocked),
// and a signal ignored by the caller is ignored still only for SIGHUP and
// SIGINT, which the runtime leaves ignored.
func signalsAtStart() startSignals { return startSignals{} }
