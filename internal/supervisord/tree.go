package supervisord

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/svinit/svinit/internal/errstr"
)

// SpecFile is the file in each generated service directory that the
// supervisord-run applet reads: how to start the process.
const SpecFile = "supervisord.json"

// marker is in a tree svinit generated: only such a tree is emptied.
const marker = ".svinit-supervisord"

// Spec is what the generated run does before it execs the command.
type Spec struct {
	Argv           []string    `json:"argv"`
	Directory      string      `json:"directory,omitempty"`
	Umask          int         `json:"umask"`
	User           string      `json:"user,omitempty"`
	Env            [][2]string `json:"env,omitempty"` // added to svinit's environment, in order
	RedirectStderr bool        `json:"redirect_stderr,omitempty"`
	Stdout         LogSpec     `json:"stdout"`
	Stderr         LogSpec     `json:"stderr"`
	SvinitPid      int         `json:"svinit_pid"` // /dev/stdout means this process's stdout
}

// DefaultDir is where the service directories are generated.
const DefaultDir = "/run/svinit/supervisord"

// Write generates the service tree for c in dir: one directory per process,
// named by its namespec. exe is the svinit binary the run scripts name,
// serverURL what SUPERVISOR_SERVER_URL says. An existing dir must be empty
// or one Write made before (it is then emptied).
func Write(c *Config, dir, exe, serverURL string, svinitPid int) error {
	if err := prepare(dir); err != nil {
		return err
	}
	// priority is the place of the process's group in supervisord's order
	// (priority, then name): the groups start in that order and stop in
	// the reverse one, each waiting for the group after it to have stopped;
	// the processes of one group stop together.
	for rank, g := range c.Groups {
		for _, p := range g.Processes {
			if err := writeService(c, p, filepath.Join(dir, p.Namespec()), exe, serverURL, svinitPid, rank); err != nil {
				return err
			}
		}
	}
	return nil
}

func prepare(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return errstr.Unable("create", dir, err)
		}
	case err != nil:
		return errstr.Unable("read", dir, err)
	case len(ents) > 0:
		if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
			return fmt.Errorf("unable to use %s: not empty, and not a tree svinit generated (no %s)", dir, marker)
		}
		for _, e := range ents {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return errstr.Unable("remove", filepath.Join(dir, e.Name()), err)
			}
		}
	}
	return writeFile(filepath.Join(dir, marker), "", 0o644)
}

func writeFile(path, content string, mode os.FileMode) error {
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		return errstr.Unable("write", path, err)
	}
	return nil
}

func writeService(c *Config, p *Process, dir, exe, serverURL string, svinitPid, rank int) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return errstr.Unable("create", dir, err)
	}
	env := append([][2]string{{"SUPERVISOR_ENABLED", "1"}}, [][2]string{}...)
	url := p.ServerURL
	if url == "" {
		url = serverURL
	}
	if url != "" {
		env = append(env, [2]string{"SUPERVISOR_SERVER_URL", url})
	}
	env = append(env, [2]string{"SUPERVISOR_PROCESS_NAME", p.Name}, [2]string{"SUPERVISOR_GROUP_NAME", p.Group})
	env = append(env, c.Env...)
	env = append(env, p.Env...)
	umask := c.Umask
	if p.Umask >= 0 {
		umask = p.Umask
	}
	dirOf := p.Directory
	spec := Spec{Argv: p.Argv, Directory: dirOf, Umask: umask, User: p.User, Env: env,
		RedirectStderr: p.RedirectStderr, Stdout: p.Stdout, Stderr: p.Stderr, SvinitPid: svinitPid}
	if spec.Directory == "" {
		spec.Directory = c.Directory
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	files := []struct {
		name, content string
		mode          os.FileMode
	}{
		{SpecFile, string(b) + "\n", 0o644},
		// The kernel runs "exe supervisord-run ./run": no /bin/sh needed.
		{"run", "#!" + exe + " supervisord-run\n", 0o755},
		{"down-signal", p.StopSignal + "\n", 0o644},
		{"timeout-kill", strconv.Itoa(p.StopWaitSecs*1000) + "\n", 0o644},
		{"start-secs", startSecs(p.StartSecs) + "\n", 0o644},
		{"restart", map[string]string{"true": "always", "false": "never", "unexpected": "on-failure"}[p.Autorestart] + "\n", 0o644},
		{"priority", strconv.Itoa(rank) + "\n", 0o644},
		{"start-retries", strconv.Itoa(p.StartRetries) + "\n", 0o644},
	}
	codes := make([]string, len(p.ExitCodes))
	for i, n := range p.ExitCodes {
		codes[i] = strconv.Itoa(n)
	}
	files = append(files, struct {
		name, content string
		mode          os.FileMode
	}{"exit-codes", strings.Join(codes, "\n") + "\n", 0o644})
	if !p.Autostart {
		files = append(files, struct {
			name, content string
			mode          os.FileMode
		}{"down", "", 0o644})
	}
	if p.StopAsGroup || p.KillAsGroup {
		files = append(files, struct {
			name, content string
			mode          os.FileMode
		}{"down-group", "", 0o644})
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.content, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// startSecs is start-secs for supervisord's startsecs (0: RUNNING at once,
// no exit is a failed start).
func startSecs(n int) string {
	if n == 0 {
		return "0"
	}
	return strconv.Itoa(n) + "s"
}
