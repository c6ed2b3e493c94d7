package s6overlay

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/svinit/svinit/internal/errstr"
)

// FixAttrsDir holds s6-overlay's legacy ownership and permission fix-ups,
// applied before /etc/cont-init.d (deprecated in s6-overlay v3, still run).
const FixAttrsDir = "/etc/fix-attrs.d"

// fixLine is one line of a fix-attrs file:
//
//	path recurse account fmode dmode
//
// path is a glob; recurse true or false; account is user, user:group or
// uid:gid, optionally followed by ,uid:gid, the ids used for what is not
// found; fmode and dmode are octal modes for files and directories.
type fixLine struct {
	glob         string
	recurse      bool
	uid, gid     int
	fmode, dmode os.FileMode
}

// FixAttrs applies the files of dir (lexical order, dot files left out) as
// s6-overlay's fix-attrs does, with its messages for verbosity v. Each file
// is checked whole first: a bad line is an error naming the file and the
// line, and nothing of that file is applied. A line that cannot be applied
// (an unknown account without a default, a path that is not there, chown
// refused) is an error naming the file, the line and the path, and the
// rest of that file is not applied (s6-overlay's script stops there too).
// Dot files inside recursed directories are changed only with hidden
// (S6_FIX_ATTRS_HIDDEN). It reports whether a file failed.
func FixAttrs(dir string, hidden bool, v int, stderr io.Writer) (failed bool) {
	files := scripts(dir)
	for _, f := range files {
		p := filepath.Join(dir, f)
		if v >= 2 {
			fmt.Fprintf(stderr, "fix-attrs: info: applying %s\n", p)
		}
		if err := fixFile(p, hidden); err != nil {
			fmt.Fprintf(stderr, "fix-attrs: error: %v\n", err)
			failed = true
		}
	}
	if len(files) > 0 && v >= 1 {
		fmt.Fprintln(stderr, "fix-attrs: warning: fix-attrs is deprecated, please fix volume permissions in your container manager instead")
	}
	return failed
}

func fixFile(path string, hidden bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return errstr.Unable("read", path, err)
	}
	type numbered struct {
		n    int
		line fixLine
	}
	var lines []numbered
	for i, text := range strings.Split(string(b), "\n") {
		f := strings.Fields(text)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		l, err := parseFixLine(f)
		if err != nil {
			return fmt.Errorf("%s line %d: %v (a line is: path recurse account fmode dmode, e.g. /var/lib/mysql true mysql,999:999 0600 0700): nothing of %s applied", path, i+1, err, path)
		}
		lines = append(lines, numbered{i + 1, l})
	}
	for _, l := range lines {
		if err := l.line.apply(hidden); err != nil {
			return fmt.Errorf("%s line %d: %v: the rest of %s not applied", path, l.n, err, path)
		}
	}
	return nil
}

func parseFixLine(f []string) (fixLine, error) {
	if len(f) != 5 {
		return fixLine{}, fmt.Errorf("%d fields, not 5", len(f))
	}
	l := fixLine{glob: f[0]}
	switch f[1] {
	case "true":
		l.recurse = true
	case "false":
	default:
		return l, fmt.Errorf("recurse is %q, not true or false", f[1])
	}
	var err error
	if l.uid, l.gid, err = fixAccount(f[2]); err != nil {
		return l, err
	}
	for i, dst := range []*os.FileMode{&l.fmode, &l.dmode} {
		m, err := strconv.ParseUint(f[3+i], 8, 32)
		if err != nil || m > 0o7777 {
			return l, fmt.Errorf("%s is %q, not an octal mode (0644, 2755)", []string{"fmode", "dmode"}[i], f[3+i])
		}
		*dst = unixMode(uint32(m))
	}
	return l, nil
}

// unixMode is a chmod(2) mode as an os.FileMode (Go keeps setuid, setgid
// and sticky apart from the permission bits).
func unixMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	return mode
}

// fixAccount resolves a fix-attrs account as s6-overlay does with
// s6-envuidgid: "user" is the user's uid and primary gid; "user:group"
// looks each part up by name, else takes it as a number; ",uid:gid" after
// either gives the ids for a part that is not found (without it, that is an
// error).
func fixAccount(entry string) (uid, gid int, err error) {
	account, def, hasDef := strings.Cut(entry, ",")
	var duid, dgid int
	if hasDef {
		du, dg, ok := strings.Cut(def, ":")
		dg, _, _ = strings.Cut(dg, ":") // a third field, the supplementary groups, is not used
		var err1, err2 error
		duid, err1 = strconv.Atoi(du)
		dgid, err2 = strconv.Atoi(dg)
		if !ok || err1 != nil || err2 != nil || duid < 0 || dgid < 0 {
			return 0, 0, fmt.Errorf("the default after the comma is %q, not uid:gid", def)
		}
	}
	name, group, both := strings.Cut(account, ":")
	if !both {
		u, err := user.Lookup(account)
		switch {
		case err == nil:
			uid, _ = strconv.Atoi(u.Uid)
			gid, _ = strconv.Atoi(u.Gid)
			return uid, gid, nil
		case hasDef:
			return duid, dgid, nil
		}
		return 0, 0, fmt.Errorf("unknown user %s (numeric ids are written uid:gid; a default is written user,uid:gid)", account)
	}
	uid, err = fixID(name, "user", hasDef, duid, func(s string) (string, error) {
		u, err := user.Lookup(s)
		if err != nil {
			return "", err
		}
		return u.Uid, nil
	})
	if err != nil {
		return 0, 0, err
	}
	gid, err = fixID(group, "group", hasDef, dgid, func(s string) (string, error) {
		g, err := user.LookupGroup(s)
		if err != nil {
			return "", err
		}
		return g.Gid, nil
	})
	return uid, gid, err
}

// fixID is one part of user:group: by name, else the number it is, else
// the default.
func fixID(s, what string, hasDef bool, def int, lookup func(string) (string, error)) (int, error) {
	if s != "" {
		if id, err := lookup(s); err == nil {
			n, _ := strconv.Atoi(id)
			return n, nil
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return n, nil
		}
	}
	if hasDef {
		return def, nil
	}
	if s == "" {
		return 0, fmt.Errorf("no %s given and no default", what)
	}
	return 0, fmt.Errorf("unknown %s %s", what, s)
}

// apply changes every path the glob matches (a glob that matches nothing
// is taken as the path itself, as the shell does, and is then not there).
// The matched paths are followed if they are symbolic links, as s6-chown
// and s6-chmod do; inside a recursed directory, a symbolic link gets the
// owner (lchown) but is neither followed nor changed in mode.
func (l fixLine) apply(hidden bool) error {
	paths, err := filepath.Glob(l.glob)
	if err != nil || len(paths) == 0 {
		paths = []string{l.glob}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return errstr.Unable("stat", p, err)
		}
		if !st.IsDir() || !l.recurse {
			if err := l.fix(p, st.IsDir(), false); err != nil {
				return err
			}
			continue
		}
		top := p // a symbolic link given as the path is followed
		if real, err := filepath.EvalSymlinks(p); err == nil {
			top = real
		}
		err = filepath.WalkDir(top, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return errstr.Unable("read", q, err)
			}
			if q != top && !hidden && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			return l.fix(q, d.IsDir(), d.Type()&fs.ModeSymlink != 0)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (l fixLine) fix(p string, dir, link bool) error {
	if link {
		if err := os.Lchown(p, l.uid, l.gid); err != nil {
			return errstr.Unable("chown", p, err)
		}
		return nil
	}
	if err := os.Chown(p, l.uid, l.gid); err != nil {
		return errstr.Unable("chown", p, err)
	}
	mode := l.fmode
	if dir {
		mode = l.dmode
	}
	if err := os.Chmod(p, mode); err != nil {
		return errstr.Unable("chmod", p, err)
	}
	return nil
}
