//go:build quietsysmon && linux && (amd64 || arm64)

package chain

import _ "unsafe" // for go:linkname

// The Go runtime keeps what it found at start-up: the signal mask
// (initSigmask, which it gives to the threads it makes, minus the signals it
// must receive: SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGURG...) and each
// signal's disposition before it installed its own handler (fwdSig; it
// installs one even over an inherited SIG_IGN, but for SIGHUP and SIGINT).
// Nothing exported gives them, so this file reads them by go:linkname, which
// needs -ldflags=-checklinkname=0 as init/sysmon_quiet.go does: the release
// build's flags (cmd/svinit/release-build). A Go release that renamed one
// would not fail the build: the declaration would define the symbol itself
// (zero: no mask, nothing ignored). The chain-loader tests catch that: they
// compare the signal mask and ignored signals a child gets with Debian's
// tools. A plain go build uses signals_plain.go instead.

//go:linkname runtimeInitSigmask runtime.initSigmask
var runtimeInitSigmask [2]uint32

//go:linkname runtimeFwdSig runtime.fwdSig
var runtimeFwdSig [65]uintptr

// signalsAtStart reads the runtime's record of the signals at start-up.
func signalsAtStart() startSignals {
	s := startSignals{known: true, mask: uint64(runtimeInitSigmask[0]) | uint64(runtimeInitSigmask[1])<<32}
	for sig := 1; sig <= 64; sig++ {
		if runtimeFwdSig[sig] == sigIgn {
			s.ignored |= 1 << (sig - 1)
		}
	}
	return s
}
