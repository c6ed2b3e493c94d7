package svdir

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// InfoFile is svinit's own addition to supervise/: what the 20-byte status
// cannot say (backoff, restarts, last exit, last error), for svstat --json.
// The daemontools and runit clients never read it.
const InfoFile = "svinit.json"

// Info is the content of InfoFile.
type Info struct {
	State        string `json:"state"` // up, down, finish, backoff, wait
	Ready        bool   `json:"ready"`
	Waiting      string `json:"waiting,omitempty"` // the dependency it waits for
	Restarts     int    `json:"restarts"`
	LastExit     string `json:"last_exit,omitempty"`
	LastError    string `json:"last_error,omitempty"`
	BackoffUntil int64  `json:"backoff_until,omitempty"` // Unix seconds of the next start

	Kind           string `json:"kind,omitempty"`   // oneshot, scheduled ("": longrun)
	Health         string `json:"health,omitempty"` // starting, healthy, unhealthy ("": no probe, or not up)
	HealthFailures int    `json:"health_failures,omitempty"`
	HealthOutput   string `json:"health_output,omitempty"` // what the last health probe said
	EverReady      bool   `json:"ever_ready"`              // ready (a oneshot: done) at least once
	LastStart      int64  `json:"last_start,omitempty"`    // Unix seconds of the last start of ./run
	NextRun        int64  `json:"next_run,omitempty"`      // scheduled: Unix seconds of the next run
}

// ReadInfo reads dir's supervise/svinit.json; a supervisor other than svinit
// has none, and that is not an error: ok is false.
func ReadInfo(dir string) (Info, bool) {
	var in Info
	b, err := os.ReadFile(filepath.Join(dir, "supervise", InfoFile))
	if err != nil || json.Unmarshal(b, &in) != nil {
		return Info{}, false
	}
	return in, true
}

// Ready is the one readiness truth for clients: under svinit, what svinit
// decided (the notification-fd newline, ./check passing, or at once for a
// service with neither; a oneshot once done) as written in svinit.json; known is false under
// another supervisor, whose clients run ./check themselves (runit's sv).
func Ready(dir string) (ready, known bool) {
	in, ok := ReadInfo(dir)
	if !ok {
		return false, false
	}
	return in.Ready && (in.State == "up" || in.State == "done"), true
}

// Report is one line of svstat --json: the 20-byte status and the info file
// together, for one service directory.
type Report struct {
	Name      string `json:"name"`
	State     string `json:"state"` // up, down, finish, backoff, wait; "unknown" with Error
	Pid       int    `json:"pid"`
	Seconds   int64  `json:"seconds"`
	Want      string `json:"want"`
	Normally  string `json:"normally"`
	Paused    bool   `json:"paused"`
	Ready     bool   `json:"ready"`
	Restarts  int    `json:"restarts"`
	LastExit  string `json:"last_exit"`
	LastError string `json:"last_error"`
	Error     string `json:"error,omitempty"`

	Kind           string `json:"kind,omitempty"`
	Health         string `json:"health,omitempty"`
	HealthFailures int    `json:"health_failures,omitempty"`
	HealthOutput   string `json:"health_output,omitempty"`
	EverReady      bool   `json:"ever_ready,omitempty"`
	LastStart      int64  `json:"last_start,omitempty"`
	NextRun        int64  `json:"next_run,omitempty"`
}
