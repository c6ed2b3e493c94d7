// Package chain holds what the chain-loading applets (setuidgid, envuidgid,
// envdir, softlimit, pgrphack, chpst) do to their own process before they
// execute the rest of their command line.
package chain

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"github.com/svinit/svinit/internal/errstr"
)

// Account is a user, and the group it runs under.
type Account struct {
	UID, GID int
	Groups   []int // supplementary groups to set (the primary one at least)
}

// LookupAccount finds "user" or, with groups, "user:group[:group...]" (runit's
// chpst -u form; the first group is the primary one).
func LookupAccount(spec string, groupsAllowed bool) (Account, error) {
	name, groups, _ := strings.Cut(spec, ":")
	if groups != "" && !groupsAllowed {
		return Account{}, fmt.Errorf("unknown account %s", spec)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return Account{}, err
	}
	a := Account{}
	a.UID, _ = strconv.Atoi(u.Uid)
	a.GID, _ = strconv.Atoi(u.Gid)
	a.Groups = []int{a.GID}
	if groups != "" {
		a.Groups = nil
		for i, g := range strings.Split(groups, ":") {
			grp, err := user.LookupGroup(g)
			if err != nil {
				return Account{}, err
			}
			gid, _ := strconv.Atoi(grp.Gid)
			if i == 0 {
				a.GID = gid
			}
			a.Groups = append(a.Groups, gid)
		}
	}
	return a, nil
}

// Become sets the groups, then the gid, then the uid of this process (all
// its threads).
func (a Account) Become() error {
	if err := syscall.Setgroups(a.Groups); err != nil {
		return fmt.Errorf("unable to setgroups: %s", errstr.Text(err))
	}
	if err := syscall.Setgid(a.GID); err != nil {
		return fmt.Errorf("unable to setgid: %s", errstr.Text(err))
	}
	if err := syscall.Setuid(a.UID); err != nil {
		return fmt.Errorf("unable to setuid: %s", errstr.Text(err))
	}
	return nil
}

// Env sets $UID and $GID as envuidgid does.
func (a Account) Env() {
	os.Setenv("UID", strconv.Itoa(a.UID))
	os.Setenv("GID", strconv.Itoa(a.GID))
}

// Envdir applies a daemontools envdir: each file names a variable; an empty
// file removes it, and so does a name that is not there any more (a dangling
// symlink, a file removed meanwhile), as both daemontools' envdir and runit's
// chpst -e do; otherwise its first line is the value, trailing spaces and
// tabs removed and NULs turned into newlines. Dot files are skipped. A
// subdirectory is an error, as in daemontools' envdir, unless skipDir is
// set (runit's chpst -e skips it): then skipDir is told of it and the rest
// is read. The error says which file and why, in daemontools' words.
func Envdir(dir string, skipDir func(path string, err error)) error {
	changes, err := ReadEnvdir(dir, skipDir)
	if err != nil {
		return err
	}
	for _, c := range changes {
		if c.Unset {
			os.Unsetenv(c.Name)
		} else {
			os.Setenv(c.Name, c.Value)
		}
	}
	return nil
}

// EnvChange is what one file of an envdir does to the environment.
type EnvChange struct {
	Name, Value string
	Unset       bool // an empty file (or a dangling symlink) removes the variable
}

// ReadEnvdir reads an envdir as Envdir does, without changing anything:
// the changes in order, or the first error (nothing half read).
func ReadEnvdir(dir string, skipDir func(path string, err error)) ([]EnvChange, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, &DirError{Dir: dir, Err: err}
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("unable to read directory %s: %s", dir, errstr.Text(err))
	}
	sort.Strings(names)
	var changes []EnvChange
	for _, name := range names {
		if strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, syscall.EISDIR) && skipDir != nil {
			skipDir(path, err)
			continue
		}
		if err != nil && !errors.Is(err, syscall.ENOENT) {
			return nil, fmt.Errorf("unable to read %s: %s", path, errstr.Text(err))
		}
		if len(b) == 0 {
			changes = append(changes, EnvChange{Name: name, Unset: true})
			continue
		}
		changes = append(changes, EnvChange{Name: name, Value: EnvValue(b)})
	}
	return changes, nil
}

// ApplyEnv is env ("NAME=value" strings) with changes made, in order.
func ApplyEnv(env []string, changes []EnvChange) []string {
	out := make([]string, 0, len(env)+len(changes))
	drop := map[string]bool{}
	for _, c := range changes {
		drop[c.Name] = true
	}
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			out = append(out, kv)
		}
	}
	final := map[string]int{} // the last change of each name wins
	for i, c := range changes {
		final[c.Name] = i
	}
	for i, c := range changes {
		if final[c.Name] == i && !c.Unset {
			out = append(out, c.Name+"="+c.Value)
		}
	}
	return out
}

// EnvValue is envdir's value of a file: its first line, trailing spaces
// and tabs removed, NULs turned into newlines.
func EnvValue(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimRight(line, " \t")
	return string(bytes.ReplaceAll(line, []byte{0}, []byte("\n")))
}

// DirError is an envdir that cannot be opened.
type DirError struct {
	Dir string
	Err error
}

func (e *DirError) Error() string {
	return "unable to switch to directory " + e.Dir + ": " + errstr.Text(e.Err)
}

// Limit is one resource limit to set: Value is the soft limit; Hard means
// "as high as the hard limit" (softlimit's "=").
type Limit struct {
	Resource int
	Value    uint64
	Hard     bool
}

// SetLimits lowers (or raises up to the hard limit) each soft limit.
func SetLimits(limits []Limit) error {
	for _, l := range limits {
		var r syscall.Rlimit
		if err := syscall.Getrlimit(l.Resource, &r); err != nil {
			return fmt.Errorf("unable to getrlimit: %s", errstr.Text(err))
		}
		r.Cur = l.Value
		if l.Hard || r.Cur > r.Max {
			r.Cur = r.Max
		}
		if err := syscall.Setrlimit(l.Resource, &r); err != nil {
			return fmt.Errorf("unable to setrlimit: %s", errstr.Text(err))
		}
	}
	return nil
}

// ParseLimit reads a softlimit value: a number of units, or "=" for the
// hard limit.
func ParseLimit(resource int, v string) (Limit, error) {
	if v == "=" {
		return Limit{Resource: resource, Hard: true}, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return Limit{}, fmt.Errorf("not a number: %q", v)
	}
	return Limit{Resource: resource, Value: n}, nil
}

// Prepared is an exec made ready: the path found, the C argv and
// environment built, and what the Go runtime changed in this process at
// start-up known. Run allocates nothing, so it still works after a tight
// RLIMIT_AS or RLIMIT_DATA has been set on this (Go) process.
type Prepared struct {
	path *byte
	argv []*byte
	env  []*byte
	sig  startSignals
}

// Prepare finds argv[0] in PATH and builds the exec; argv0, if set,
// replaces what the program sees as its name. The environment is taken now.
//
// It also gives back the soft RLIMIT_NOFILE this process started with: the
// Go runtime raised it to the hard limit at start-up, and the program must
// get the caller's (daemontools' and runit's tools leave it alone). Call
// Prepare before any limit of the program's own is set: a soft nofile set
// afterwards (softlimit -o, chpst -o) is the one the program gets.
func Prepare(argv []string, argv0 string) (*Prepared, error) {
	restoreNofile()
	path, err := exec.LookPath(argv[0])
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		if errors.Is(err, exec.ErrNotFound) {
			err = syscall.ENOENT
		}
		return nil, err
	}
	args := append([]string(nil), argv...)
	if argv0 != "" {
		args[0] = argv0
	}
	p := &Prepared{}
	if p.path, err = syscall.BytePtrFromString(path); err != nil {
		return nil, err
	}
	if p.argv, err = syscall.SlicePtrFromStrings(args); err != nil {
		return nil, err
	}
	if p.env, err = syscall.SlicePtrFromStrings(os.Environ()); err != nil {
		return nil, err
	}
	p.sig = signalsAtStart()
	return p, nil
}

// restoreNofile puts back the soft RLIMIT_NOFILE this process started with,
// if the Go runtime raised it. Only package syscall knows that value, and
// only its Exec gives it back: before its execve, Exec sets the limit to it
// with syscall.Setrlimit, which also makes the runtime forget it. An empty
// path fails that execve at once (ENOENT) and leaves everything else as it
// was. Once forgotten the call does nothing, and a nofile set later with
// syscall.Setrlimit (SetLimits) stays as set.
func restoreNofile() {
	_ = syscall.Exec("", nil, nil)
}

// Run executes the prepared program in this process; it returns only on
// failure. Before the execve it puts back, on this thread (the one that
// executes), the signal mask this process started with, and the signals
// ignored at start-up that the Go runtime catches go back to ignored (an
// execve resets caught signals to the default, keeps ignored ones ignored).
// The calling goroutine must be locked to its thread.
func (p *Prepared) Run() error {
	p.sig.restore()
	_, _, errno := syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(p.path)),
		uintptr(unsafe.Pointer(&p.argv[0])), uintptr(unsafe.Pointer(&p.env[0])))
	return errno
}
