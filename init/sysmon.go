//go:build !quietsysmon

package pid1

// sysmonQuiet says whether this build lets Go's sysmon thread sleep through
// quiet spells (sysmon_quiet.go). A plain `go build` does not: sysmon then
// wakes every minute, as in every Go program.
const sysmonQuiet = false

func sleepSysmon(quiet bool) {}
