// Package supervisord is svinit's supervisord layer: it reads a
// supervisord.conf with supervisord's syntax and meaning, translates every
// process into a service directory svinit supervises (a generated run that
// execs the command as supervisord would, plus the per-service files that
// carry supervisord's options), and serves supervisord's XML-RPC interface on
// the [unix_http_server] socket so that supervisorctl works against svinit.
// The server talks to the services only through their supervise/
// directories (supervisor/svdir): the filesystem is the API.
package supervisord

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/svinit/svinit/internal/errstr"
)

// entry is one key of a section, with where it was written.
type entry struct {
	key, value string
	file       string
	line       int
}

// section is one [name] of the file, or of an included one.
type section struct {
	name    string
	file    string // the file it is in: %(here)s is its directory
	line    int
	entries []entry
}

func (s *section) get(key string) (entry, bool) {
	for _, e := range s.entries {
		if e.key == key {
			return e, true
		}
	}
	return entry{}, false
}

// maxIncludeDepth stops include loops.
const maxIncludeDepth = 10

// readINI reads path and the files its [include] names, in supervisord's
// order: the main file's sections, then each included file's (sorted glob
// matches, each pattern in turn). A section defined twice is an error, as
// in supervisord (configparser's strict mode).
func readINI(path string) ([]*section, error) {
	var all []*section
	seen := map[string]*section{}
	var read func(path string, depth int) error
	read = func(path string, depth int) error {
		if depth > maxIncludeDepth {
			return fmt.Errorf("%s: includes nested deeper than %d (a loop?)", path, maxIncludeDepth)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return errstr.Unable("read", path, err)
		}
		secs, err := parseINI(path, string(b))
		if err != nil {
			return err
		}
		var include *section
		for _, s := range secs {
			if prev, ok := seen[s.name]; ok {
				return fmt.Errorf("%s:%d: section [%s] already defined at %s:%d", s.file, s.line, s.name, prev.file, prev.line)
			}
			seen[s.name] = s
			if s.name == "include" {
				include = s
				continue
			}
			all = append(all, s)
		}
		if include == nil {
			return nil
		}
		e, ok := include.get("files")
		if !ok {
			return fmt.Errorf("%s:%d: [include] section must define a \"files\" key", include.file, include.line)
		}
		// The [include] section is the one section that may appear once in
		// every file.
		delete(seen, "include")
		v, err := expand(e.value, map[string]string{"here": filepath.Dir(abs(path))}, true)
		if err != nil {
			return fmt.Errorf("%s:%d: files: %v", e.file, e.line, err)
		}
		for _, pat := range strings.Fields(v) {
			if !filepath.IsAbs(pat) {
				pat = filepath.Join(filepath.Dir(abs(path)), pat)
			}
			matches, err := filepath.Glob(pat)
			if err != nil {
				return fmt.Errorf("%s:%d: files: bad pattern %q: %v", e.file, e.line, pat, err)
			}
			sort.Strings(matches)
			for _, m := range matches {
				if err := read(m, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := read(path, 0); err != nil {
		return nil, err
	}
	return all, nil
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// parseINI is configparser's syntax as supervisord configures it: [section]
// headers, "key = value" or "key: value", whole-line comments starting with
// ; or #, inline comments only after whitespace, continuation lines (more
// indented than nothing) appended to the previous value with a newline,
// keys lower-cased, a key twice in a section an error.
func parseINI(file, text string) ([]*section, error) {
	var secs []*section
	var cur *section
	var last *entry
	for i, raw := range strings.Split(text, "\n") {
		n := i + 1
		line := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			last = nil // configparser: an empty line ends a multi-line value... unless more indented lines follow
			continue
		}
		if trimmed[0] == ';' || trimmed[0] == '#' {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != nil {
				last.value += "\n" + stripInline(trimmed)
				cur.entries[len(cur.entries)-1] = *last
				continue
			}
			if cur == nil {
				return nil, fmt.Errorf("%s:%d: a continuation line before any section: %q", file, n, trimmed)
			}
		}
		if trimmed[0] == '[' {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				return nil, fmt.Errorf("%s:%d: a section header without ]: %q", file, n, trimmed)
			}
			name := strings.TrimSpace(trimmed[1:end])
			if name == "" {
				return nil, fmt.Errorf("%s:%d: an empty section name", file, n)
			}
			for _, s := range secs {
				if s.name == name {
					return nil, fmt.Errorf("%s:%d: section [%s] already defined at line %d", file, n, name, s.line)
				}
			}
			cur = &section{name: name, file: file, line: n}
			secs = append(secs, cur)
			last = nil
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("%s:%d: a key before any [section] header: %q", file, n, trimmed)
		}
		at := strings.IndexAny(trimmed, "=:")
		if at <= 0 {
			return nil, fmt.Errorf("%s:%d: not \"key = value\": %q", file, n, trimmed)
		}
		key := strings.ToLower(strings.TrimSpace(trimmed[:at]))
		if key == "" {
			return nil, fmt.Errorf("%s:%d: an empty key", file, n)
		}
		if _, dup := cur.get(key); dup {
			return nil, fmt.Errorf("%s:%d: key %q already set in [%s]", file, n, key, cur.name)
		}
		cur.entries = append(cur.entries, entry{key: key, value: stripInline(strings.TrimSpace(trimmed[at+1:])), file: file, line: n})
		last = &cur.entries[len(cur.entries)-1]
	}
	return secs, nil
}

// stripInline removes an inline comment: ; or # after whitespace (or at the
// start of the value).
func stripInline(v string) string {
	for i := 0; i < len(v); i++ {
		if (v[i] == ';' || v[i] == '#') && (i == 0 || v[i-1] == ' ' || v[i-1] == '\t') {
			return strings.TrimSpace(v[:i])
		}
	}
	return v
}

// expand is supervisord's expansion of a value: Python's "%(name)s" (and
// "%(name)02d" ...) with the names in vars plus ENV_X for each variable of
// the environment when env is true; "%%" is a "%".
func expand(v string, vars map[string]string, env bool) (string, error) {
	if !strings.Contains(v, "%") {
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(v) && v[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		if i+1 >= len(v) || v[i+1] != '(' {
			return "", fmt.Errorf("a %% not followed by (name) or %%: %q", v)
		}
		end := strings.IndexByte(v[i+2:], ')')
		if end < 0 {
			return "", fmt.Errorf("%%( without ): %q", v)
		}
		name := v[i+2 : i+2+end]
		j := i + 2 + end + 1
		spec := j
		for j < len(v) && strings.IndexByte("#0- +123456789.", v[j]) >= 0 {
			j++
		}
		if j >= len(v) || strings.IndexByte("sdirf", v[j]) < 0 {
			return "", fmt.Errorf("%%(%s) without a conversion (s, d): %q", name, v)
		}
		flags, conv := v[spec:j], v[j]
		val, ok := vars[name]
		if !ok && env && strings.HasPrefix(name, "ENV_") {
			val, ok = os.LookupEnv(name[4:])
		}
		if !ok {
			return "", fmt.Errorf("%q contains names (%q) which cannot be expanded", v, name)
		}
		if conv == 'd' || conv == 'i' {
			var num int
			if _, err := fmt.Sscan(val, &num); err != nil {
				return "", fmt.Errorf("%%(%s)%s%c needs a number, %s is %q", name, flags, conv, name, val)
			}
			val = fmt.Sprintf("%"+flags+"d", num)
		} else if flags != "" {
			val = fmt.Sprintf("%"+flags+"s", val)
		}
		b.WriteString(val)
		i = j
	}
	return b.String(), nil
}
