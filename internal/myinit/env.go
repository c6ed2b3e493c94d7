// Package myinit is what svinit needs to be phusion's my_init (argv[0]
// my_init, from baseimage-docker): its options and environment variables,
// its start-up files (/etc/my_init.d/*, /etc/rc.local) and its environment
// dump (/etc/container_environment/, container_environment.sh and .json).
// PID 1's side — running the files through the reaper, the services, the
// main command — is init/myinit.go; the wiring is cmd/svinit/myinit.go.
// The formats, as my_init writes them, are in docs/migrating-my_init.md.
package myinit

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/svinit/svinit/internal/errstr"
)

// skipped are the variables my_init leaves out of the directory and the
// .sh (not out of the .json, which is all of its environment).
var skipped = map[string]bool{"HOME": true, "USER": true, "GROUP": true, "UID": true, "GID": true, "SHELL": true}

// Layout is where my_init's files are: under Root ("" is /; set only by
// tests, through SVINIT_MY_INIT_ROOT).
type Layout struct {
	Root          string
	InitDirectory string // ENV_INIT_DIRECTORY ("": /etc/my_init.d)
}

func (l Layout) path(p string) string { return filepath.Join(l.Root, p) }

// EnvDir is /etc/container_environment.
func (l Layout) EnvDir() string { return l.path("/etc/container_environment") }

// ServiceDir is runit's /etc/service.
func (l Layout) ServiceDir() string { return l.path("/etc/service") }

// InitDir is /etc/my_init.d, or my_init's ENV_INIT_DIRECTORY.
func (l Layout) InitDir() string {
	if l.InitDirectory != "" {
		return l.path(l.InitDirectory)
	}
	return l.path("/etc/my_init.d")
}

// RcLocal is /etc/rc.local.
func (l Layout) RcLocal() string { return l.path("/etc/rc.local") }

// Env is an environment in the order of its variables: os.Environ's form
// without the duplicates.
type Env struct {
	names  []string
	values map[string]string
}

// ParseEnv reads NAME=VALUE lines (os.Environ); the last of a name wins.
func ParseEnv(environ []string) *Env {
	e := &Env{values: map[string]string{}}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		e.Set(k, v)
	}
	return e
}

// Set sets name to value.
func (e *Env) Set(name, value string) {
	if _, ok := e.values[name]; !ok {
		e.names = append(e.names, name)
	}
	e.values[name] = value
}

// Get is name's value.
func (e *Env) Get(name string) (string, bool) { v, ok := e.values[name]; return v, ok }

// Environ is e as NAME=VALUE, sorted by name.
func (e *Env) Environ() []string {
	out := make([]string, 0, len(e.names))
	for _, n := range e.sorted() {
		out = append(out, n+"="+e.values[n])
	}
	return out
}

func (e *Env) sorted() []string {
	ns := append([]string(nil), e.names...)
	sort.Strings(ns)
	return ns
}

// Import is my_init's import_envvars: each file of /etc/container_environment
// becomes a variable (its content, one trailing newline dropped). clear:
// the result is the directory alone; override: a file wins over a variable
// already set. Without the directory, e is returned as it is.
func (l Layout) Import(e *Env, clear, override bool) (*Env, error) {
	dir := l.EnvDir()
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return e, nil
	}
	if err != nil {
		return e, errstr.Unable("read", dir, err)
	}
	out := e
	if clear {
		out = &Env{values: map[string]string{}}
	}
	for _, ent := range ents {
		if ent.IsDir() {
			continue
		}
		p := filepath.Join(dir, ent.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return e, errstr.Unable("read", p, err)
		}
		if _, set := out.values[ent.Name()]; set && !override {
			continue
		}
		out.Set(ent.Name(), strings.TrimSuffix(string(b), "\n"))
	}
	return out, nil
}

// Export is my_init's export_envvars: with toDir, a file a variable in
// /etc/container_environment (not HOME, USER, GROUP, UID, GID, SHELL); and
// always /etc/container_environment.sh and .json. Nothing without the
// directory. Existing files are truncated, keeping their mode and owner
// (baseimage makes the .sh and .json 0640 root:docker_env); new ones are
// 0666 less the umask, as Python's open makes them.
func (l Layout) Export(e *Env, toDir bool) error {
	dir := l.EnvDir()
	if _, err := os.Stat(dir); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return errstr.Unable("stat", dir, err)
	}
	var sh strings.Builder
	for _, n := range e.sorted() {
		if skipped[n] {
			continue
		}
		if toDir {
			if err := writeFile(filepath.Join(dir, n), e.values[n]); err != nil {
				return err
			}
		}
		fmt.Fprintf(&sh, "export %s=%s\n", ShellName(n), ShellQuote(e.values[n]))
	}
	if err := writeFile(dir+".sh", sh.String()); err != nil {
		return err
	}
	return writeFile(dir+".json", e.JSON())
}

func writeFile(path, content string) error {
	if strings.ContainsRune(filepath.Base(path), 0) {
		return errstr.Unable("write", path, os.ErrInvalid)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return errstr.Unable("write", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return errstr.Unable("write", path, err)
	}
	if err := f.Close(); err != nil {
		return errstr.Unable("write", path, err)
	}
	return nil
}

// word is Python's \w for ASCII: a letter, a digit or "_".
func word(r rune) bool {
	return r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
}

// ShellName is my_init's sanitize_shenvname: every non-word character
// becomes "_".
func ShellName(n string) string {
	var b strings.Builder
	for _, r := range n {
		if !word(r) {
			r = '_'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unsafeFound is my_init's (and Python's shlex) _find_unsafe: a character
// other than \w and @%+=:,./-.
func unsafeFound(s string) bool {
	for _, r := range s {
		if !word(r) && !strings.ContainsRune("@%+=:,./-", r) {
			return true
		}
	}
	return false
}

// ShellQuote is my_init's shquote: ” for "", the value as it is when it
// has only safe characters, else in single quotes, each ' as '"'"'.
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if !unsafeFound(s) && utf8.ValidString(s) && isASCII(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// JSON is Python's json.dumps of the environment as a dict: {"N": "V", ...}
// with ", " and ": ", every character outside ASCII as \uXXXX (surrogate
// pairs above U+FFFF; a byte that is not UTF-8 as Python's surrogateescape
// makes it, \udcXX). Names sorted (my_init: the environment's order).
func (e *Env) JSON() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range e.sorted() {
		if i > 0 {
			b.WriteString(", ")
		}
		pyJSONString(&b, n)
		b.WriteString(": ")
		pyJSONString(&b, e.values[n])
	}
	b.WriteByte('}')
	return b.String()
}

func pyJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(b, `\udc%02x`, s[i])
			i++
			continue
		}
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (r >= 0x7f && r <= 0xffff):
			fmt.Fprintf(b, `\u%04x`, r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
