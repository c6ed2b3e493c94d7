package s6overlay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/svinit/svinit/internal/errstr"
)

// The paths of s6-overlay v3's layout, relative to the root.
const (
	ServiceDir   = "/run/service"                                  // the live directory: one service directory a longrun
	ExitCodeFile = "/run/s6-linux-init-container-results/exitcode" // the container's exit code, as s6-linux-init reads it
	LegacyDir    = "/run/s6/legacy-services"                       // /etc/services.d's copies, as services-up makes them
	SourceDir    = "/etc/s6-overlay/s6-rc.d"
	BundleDir    = "/etc/s6-overlay/user-bundles.d"
	ContInitDir  = "/etc/cont-init.d"
	ContFinDir   = "/etc/cont-finish.d"
	ServicesDir  = "/etc/services.d"
)

// ContInit is the name of the oneshot that runs /etc/cont-init.d (its
// up) and /etc/cont-finish.d (its down), s6-overlay's own name for it.
// Every other service depends on it.
const ContInit = "legacy-cont-init"

// StageApplet is the hidden applet the generated cont-init oneshot runs:
// EXE --s6-overlay-stage cont-init|cont-finish BEHAVIOUR VERBOSITY MAXTIME_MS FIX_ATTRS_HIDDEN ROOT.
const StageApplet = "--s6-overlay-stage"

// HaltApplet is the hidden applet behind /run/s6/basedir/bin/halt, the
// command s6-overlay's docs give to stop the container from inside.
const HaltApplet = "--s6-overlay-halt"

// HaltPath is that command's path.
const HaltPath = "/run/s6/basedir/bin/halt"

// Layout is one translation of an s6-overlay image into svinit's service
// directories.
type Layout struct {
	Root    string   // "/" in a container; a test's directory in unit tests
	Exe     string   // svinit's own path, for the generated scripts
	Knobs   Knobs    // the S6_* variables
	Environ []string // the container's environment, saved unless S6_KEEP_ENV
}

// Result is what Build made.
type Result struct {
	ServiceDir    string   // the tree to supervise (Root/run/service)
	Services      []string // every service directory made, by name
	FinishScripts int      // how many scripts /etc/cont-finish.d holds
	Problems      []error  // each names the file and the cause; the rest was built
}

// source is one s6-rc service definition.
type source struct {
	name     string
	dir      string
	kind     string // longrun, oneshot, bundle
	deps     []string
	contents []string
}

// s6-rc's own files, not copied into a longrun's service directory.
var s6rcOnly = map[string]bool{"type": true, "dependencies": true, "dependencies.d": true,
	"contents": true, "contents.d": true, "producer-for": true, "consumer-for": true,
	"pipeline-name": true, "flag-essential": true, "timeout-up": true, "timeout-down": true,
	"up": true, "down": true}

func (l Layout) path(p string) string { return filepath.Join(l.Root, p) }

// Build prepares /run as s6-overlay's preinit and stage 2 do, and writes
// the service directories. An error that leaves nothing to run (/run not
// writable) is returned; problems with one file are in Result.Problems and
// the rest is built.
func (l Layout) Build() (Result, error) {
	res := Result{ServiceDir: l.path(ServiceDir)}
	problem := func(err error) { res.Problems = append(res.Problems, err) }
	for _, d := range []string{"/run/s6", ServiceDir, "/run/s6-linux-init-container-results"} {
		if err := os.RemoveAll(l.path(d)); err != nil {
			return res, errstr.Unable("remove", l.path(d), err)
		}
		if err := os.MkdirAll(l.path(d), 0o755); err != nil {
			return res, fmt.Errorf("%w (s6-overlay needs a writable /run: a tmpfs, with S6_READ_ONLY_ROOT=1 too)", errstr.Unable("create", l.path(d), err))
		}
	}
	if err := writeFiles(filepath.Dir(l.path(HaltPath)), map[string]string{
		filepath.Base(HaltPath): script("s6-overlay's halt", []string{l.Exe, HaltApplet, l.path(ServiceDir)}),
	}); err != nil {
		problem(err)
	}
	if !l.Knobs.KeepEnv {
		if err := DumpEnv(l.path(ContEnvDir), l.Environ); err != nil {
			problem(err)
		}
	}
	res.FinishScripts = len(scripts(l.path(ContFinDir)))

	srcs, probs := l.readSources()
	res.Problems = append(res.Problems, probs...)
	wanted, probs := resolve(srcs, []string{"user", "user2"})
	res.Problems = append(res.Problems, probs...)

	// The cont-init oneshot first: every service depends on it.
	if err := l.writeContInit(); err != nil {
		problem(err)
	} else {
		res.Services = append(res.Services, ContInit)
	}
	var user []string
	for _, name := range wanted {
		s := srcs[name]
		deps := unique(append([]string{ContInit}, flatten(srcs, s.deps, nil, map[string]bool{})...))
		var err error
		switch s.kind {
		case "longrun":
			err = l.writeLongrun(s, deps)
		case "oneshot":
			err = l.writeOneshot(s, deps)
		}
		if err != nil {
			problem(err)
			continue
		}
		user = append(user, name)
		res.Services = append(res.Services, name)
	}
	for _, name := range scriptsDirs(l.path(ServicesDir)) {
		if srcs[name] != nil {
			problem(fmt.Errorf("%s: a service %s is also defined in %s: the one in %s is not started",
				filepath.Join(l.path(ServicesDir), name), name, l.path(SourceDir), ServicesDir))
			continue
		}
		if err := l.writeLegacy(name, append([]string{ContInit}, user...)); err != nil {
			problem(err)
			continue
		}
		res.Services = append(res.Services, name)
	}
	return res, nil
}

// readSources reads /etc/s6-overlay/s6-rc.d and the user bundles of
// /etc/s6-overlay/user-bundles.d.
func (l Layout) readSources() (map[string]*source, []error) {
	srcs := map[string]*source{}
	var probs []error
	for _, base := range []string{l.path(SourceDir), l.path(BundleDir)} {
		for _, name := range scriptsDirs(base) {
			dir := filepath.Join(base, name)
			s := &source{name: name, dir: dir}
			b, err := os.ReadFile(filepath.Join(dir, "type"))
			if err != nil && (name == "user" || name == "user2") { // s6-overlay writes their type
				b, err = []byte("bundle"), nil
			}
			if err != nil {
				probs = append(probs, fmt.Errorf("%s: %s: not a service definition, skipped", filepath.Join(dir, "type"), errstr.Text(err)))
				continue
			}
			s.kind = strings.TrimSpace(string(b))
			switch s.kind {
			case "longrun", "oneshot", "bundle":
			default:
				probs = append(probs, fmt.Errorf("%s: not a service type (longrun, oneshot or bundle): %q: skipped", filepath.Join(dir, "type"), s.kind))
				continue
			}
			s.deps = names(dir, "dependencies")
			s.contents = names(dir, "contents")
			if old := srcs[name]; old != nil {
				if old.kind == "bundle" && s.kind == "bundle" { // user in both places: one bundle
					old.contents = append(old.contents, s.contents...)
					old.dir += " or " + s.dir
					continue
				}
				probs = append(probs, fmt.Errorf("%s: %s is defined twice (also %s): the first is kept", dir, name, old.dir))
				continue
			}
			srcs[name] = s
		}
	}
	// s6-overlay's own definitions that users depend on.
	for _, b := range []string{"base", "user", "user2", "top"} {
		if srcs[b] == nil {
			srcs[b] = &source{name: b, kind: "bundle"}
		}
	}
	srcs[ContInit] = &source{name: ContInit, kind: "builtin"}
	return srcs, probs
}

// names lists a definition's NAME.d/ entries (s6-rc's current format) and
// the lines of its NAME file (the older one).
func names(dir, what string) []string {
	var out []string
	if ents, err := os.ReadDir(filepath.Join(dir, what+".d")); err == nil {
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") {
				out = append(out, e.Name())
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, what)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				out = append(out, line)
			}
		}
	}
	return out
}

// flatten turns names (services and bundles) into service names, bundles
// replaced by their contents, s6-overlay's base bundle by the cont-init
// oneshot; names that are defined nowhere are dropped (resolve reports them).
func flatten(srcs map[string]*source, in []string, out []string, seen map[string]bool) []string {
	for _, n := range in {
		if seen[n] {
			continue
		}
		seen[n] = true
		s := srcs[n]
		switch {
		case s == nil:
		case n == "base" && len(s.contents) == 0:
			out = append(out, ContInit)
		case s.kind == "bundle":
			out = flatten(srcs, s.contents, out, seen)
		default:
			out = append(out, n)
		}
	}
	return out
}

func unique(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// resolve is the set of atomic services the top bundles bring up: their
// contents and, transitively, their dependencies; sorted.
func resolve(srcs map[string]*source, top []string) ([]string, []error) {
	var probs []error
	want := map[string]bool{}
	var visit func(from string, ns []string)
	visit = func(from string, ns []string) {
		for _, n := range ns {
			s := srcs[n]
			if s == nil {
				probs = append(probs, fmt.Errorf("%s: names %s, which is defined nowhere: ignored", from, n))
				continue
			}
			if want[n] {
				continue
			}
			want[n] = true
			switch s.kind {
			case "bundle":
				visit(s.dir, s.contents)
			case "builtin":
			default:
				visit(s.dir, s.deps)
			}
		}
	}
	visit(SourceDir, top)
	var out []string
	for n := range want {
		if k := srcs[n].kind; k == "longrun" || k == "oneshot" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, probs
}

// writeContInit writes the oneshot that runs fix-attrs.d and the cont-init
// scripts (up) and the cont-finish scripts (down).
func (l Layout) writeContInit() error {
	dir := filepath.Join(l.path(ServiceDir), ContInit)
	k := l.Knobs
	args := func(stage string) []string {
		hidden := "0"
		if k.FixAttrsHidden {
			hidden = "1"
		}
		return []string{l.Exe, StageApplet, stage, strconv.Itoa(k.Behaviour), strconv.Itoa(k.Verbosity),
			strconv.FormatInt(k.FinishMax.Milliseconds(), 10), hidden, l.Root}
	}
	files := map[string]string{
		"type": "oneshot\n",
		"run":  stageScript("s6-overlay's cont-init: "+ContInitDir, args("cont-init")),
		"undo": stageScript("s6-overlay's cont-finish: "+ContFinDir, args("cont-finish")),
		// stage 2 is not run again when it failed (S6_BEHAVIOUR_IF_STAGE2_FAILS 0, 1: go on)
		"restart": "never\n",
	}
	if k.Behaviour >= 2 {
		files["essential"] = "" // a failed cont-init stops the container
	}
	return writeFiles(dir, files)
}

func (l Layout) writeLongrun(s *source, deps []string) error {
	if st, err := os.Stat(filepath.Join(s.dir, "run")); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%s: a longrun needs a run file: not started", filepath.Join(s.dir, "run"))
	}
	dir := filepath.Join(l.path(ServiceDir), s.name)
	if err := copyTree(s.dir, dir, s6rcOnly); err != nil {
		return err
	}
	for _, f := range []string{"run", "finish"} { // s6-rc: the file may or may not be executable
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			if err := os.Chmod(filepath.Join(dir, f), 0o755); err != nil {
				return errstr.Unable("chmod", filepath.Join(dir, f), err)
			}
		}
	}
	files := map[string]string{"depends": strings.Join(deps, "\n") + "\n"}
	l.timeoutKill(dir, files)
	return writeFiles(dir, files)
}

func (l Layout) timeoutKill(dir string, files map[string]string) {
	if _, err := os.Stat(filepath.Join(dir, "timeout-kill")); err != nil && l.Knobs.ServicesGrace > 0 {
		files["timeout-kill"] = strconv.FormatInt(l.Knobs.ServicesGrace.Milliseconds(), 10) + "\n"
	}
}

func (l Layout) writeOneshot(s *source, deps []string) error {
	up, err := ReadCommandLine(filepath.Join(s.dir, "up"))
	if err != nil {
		return fmt.Errorf("%v: oneshot %s not started", err, s.name)
	}
	files := map[string]string{
		"type":    "oneshot\n",
		"run":     script(filepath.Join(s.dir, "up"), up),
		"depends": strings.Join(deps, "\n") + "\n",
		"restart": "never\n", // s6-rc runs a failed oneshot once: its dependents stay down
	}
	if _, err := os.Stat(filepath.Join(s.dir, "down")); err == nil {
		down, err := ReadCommandLine(filepath.Join(s.dir, "down"))
		if err != nil {
			return fmt.Errorf("%v: oneshot %s not started", err, s.name)
		}
		files["undo"] = script(filepath.Join(s.dir, "down"), down)
	}
	if l.Knobs.Behaviour >= 2 {
		files["essential"] = ""
	}
	return writeFiles(filepath.Join(l.path(ServiceDir), s.name), files)
}

// writeLegacy copies /etc/services.d/NAME to /run/s6/legacy-services/NAME
// and links /run/service/NAME to it, as s6-overlay's services-up does; it
// starts once the user bundle's services are up.
func (l Layout) writeLegacy(name string, deps []string) error {
	src := filepath.Join(l.path(ServicesDir), name)
	if st, err := os.Stat(filepath.Join(src, "run")); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%s: a service needs a run file: not started", filepath.Join(src, "run"))
	}
	dst := filepath.Join(l.path(LegacyDir), name)
	if err := copyTree(src, dst, nil); err != nil {
		return err
	}
	files := map[string]string{"depends": strings.Join(deps, "\n") + "\n"}
	l.timeoutKill(dst, files)
	if err := writeFiles(dst, files); err != nil {
		return err
	}
	link := filepath.Join(l.path(ServiceDir), name)
	if err := os.Symlink(filepath.Join(LegacyDir, name), link); err != nil {
		return errstr.Unable("link", link, err)
	}
	if l.Root != "/" && l.Root != "" { // the link is absolute in a container; a test's root is not /
		_ = os.Remove(link)
		if err := os.Symlink(dst, link); err != nil {
			return errstr.Unable("link", link, err)
		}
	}
	return nil
}

// stageScript is the stage applet's script: "#!EXE --s6-overlay-stage",
// then its arguments on a line of their own (StageFile reads them): the
// kernel runs svinit directly, no /bin/sh in between, at the start
// (cont-init) and in the stop (cont-finish). A path the #! line cannot
// hold (blanks, over 200 bytes) gets a /bin/sh script instead.
func stageScript(from string, argv []string) string {
	exe := argv[0]
	if len(exe) > 200 || strings.ContainsAny(exe, " \t\n") || strings.ContainsAny(strings.Join(argv[2:], ""), " \t\n") {
		return script(from, argv)
	}
	return "#!" + exe + " " + StageApplet + "\n" + strings.Join(argv[2:], " ") + "\n# made by svinit from " + from + "\n"
}

// script is a generated /bin/sh script that execs argv.
func script(from string, argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return "#!/bin/sh\n# made by svinit from " + from + "\nexec " + strings.Join(q, " ") + "\n"
}

func writeFiles(dir string, files map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errstr.Unable("create", dir, err)
	}
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			return errstr.Unable("write", p, err)
		}
		if err := os.Chmod(p, mode); err != nil {
			return errstr.Unable("chmod", p, err)
		}
	}
	return nil
}

// copyTree copies src into dst: files with their modes, symbolic links as
// links, directories; top-level names in skip are left out.
func copyTree(src, dst string, skip map[string]bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return errstr.Unable("read", p, err)
		}
		rel, _ := filepath.Rel(src, p)
		if skip[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		// svinit's supervise/ and event/ of an image's own are not copied.
		if rel == "supervise" || rel == "event" || rel == "log/supervise" || rel == "log/event" {
			return filepath.SkipDir
		}
		to := filepath.Join(dst, rel)
		info, err := os.Lstat(p)
		if err != nil {
			return errstr.Unable("stat", p, err)
		}
		switch {
		case info.IsDir():
			if err := os.MkdirAll(to, info.Mode().Perm()|0o700); err != nil {
				return errstr.Unable("create", to, err)
			}
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return errstr.Unable("read", p, err)
			}
			if err := os.Symlink(target, to); err != nil {
				return errstr.Unable("link", to, err)
			}
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return errstr.Unable("read", p, err)
			}
			if err := os.WriteFile(to, b, info.Mode().Perm()); err != nil {
				return errstr.Unable("write", to, err)
			}
		}
		return nil
	})
}

// scripts lists dir's entries in lexical order, dot files left out; none
// if dir does not exist.
func scripts(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// scriptsDirs is scripts, directories only (symbolic links followed).
func scriptsDirs(dir string) []string {
	var out []string
	for _, n := range scripts(dir) {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.IsDir() {
			out = append(out, n)
		}
	}
	return out
}

// ReadCommandLine reads an s6-rc up or down file the way s6-overlay's
// docs tell users to write it: one command line, split as execlineb
// splits words (blanks; "double quotes" with \ escapes; # to the end of
// the line starts a comment). Anything beyond that is refused, naming
// the file: a second line (execline would run the whole file as one
// command), a { block }, or execline's own programs.
func ReadCommandLine(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errstr.Unable("read", path, err)
	}
	argv, err := splitCommandLine(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return argv, nil
}

// execline's programs that take a block or substitute variables: the up
// file would need execlineb.
var execlineProgs = map[string]bool{"foreground": true, "background": true, "if": true, "ifelse": true,
	"ifte": true, "ifthenelse": true, "ifnot": true, "backtick": true, "importas": true, "import": true,
	"multisubstitute": true, "define": true, "elglob": true, "forx": true, "forstdin": true,
	"forbacktickx": true, "loopwhilex": true, "pipeline": true, "piperw": true, "redirfd": true,
	"fdmove": true, "fdclose": true, "fdswap": true, "fdreserve": true, "heredoc": true,
	"execlineb": true, "runblock": true, "case": true, "tryexec": true, "withstdinas": true,
	"getpid": true, "getcwd": true, "elgetpositionals": true, "elgetopt": true, "emptyenv": true,
	"exit": true, "trap": true, "wait": true, "export": true, "unexport": true, "homeof": true}

var errOneCommand = errors.New("write one command line (a program or a script's path, and its arguments)")

func splitCommandLine(text string) ([]string, error) {
	var argv []string
	lines := 0
	lineHasWord := false
	var cur strings.Builder
	inWord, quoted := false, false
	end := func() {
		if inWord {
			argv = append(argv, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quoted && c == '\\' && i+1 < len(rs):
			i++
			switch rs[i] {
			case 'n':
				cur.WriteRune('\n')
			case 't':
				cur.WriteRune('\t')
			default:
				cur.WriteRune(rs[i])
			}
		case quoted && c == '"':
			quoted = false
		case quoted:
			cur.WriteRune(c)
		case c == '"':
			quoted, inWord = true, true
			if !lineHasWord {
				lineHasWord = true
				lines++
			}
		case c == '#' && !inWord:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			i--
		case c == ' ' || c == '\t' || c == '\r':
			end()
		case c == '\n':
			end()
			lineHasWord = false
		default:
			if !lineHasWord {
				lineHasWord = true
				lines++
			}
			inWord = true
			cur.WriteRune(c)
		}
	}
	if quoted {
		return nil, fmt.Errorf("a double quote is not closed: %w", errOneCommand)
	}
	end()
	switch {
	case len(argv) == 0:
		return nil, fmt.Errorf("no command: %w", errOneCommand)
	case lines > 1:
		return nil, fmt.Errorf("%d lines: s6-rc runs the whole file as one execline command, svinit takes one line: %w", lines, errOneCommand)
	}
	for _, w := range argv {
		if w == "{" || w == "}" || strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}") && len(w) == 2 {
			return nil, fmt.Errorf("an execline block { ... } needs execlineb, which svinit is not: %w", errOneCommand)
		}
	}
	// The program, and the one with-contenv chains into.
	prog := argv[:1]
	if filepath.Base(argv[0]) == "with-contenv" && len(argv) > 1 {
		prog = argv[:2]
	}
	for _, w := range prog {
		if execlineProgs[filepath.Base(w)] {
			return nil, fmt.Errorf("execline's %s needs execlineb, which svinit is not: %w", w, errOneCommand)
		}
	}
	return argv, nil
}
