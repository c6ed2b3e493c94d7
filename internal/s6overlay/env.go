package s6overlay

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/svinit/svinit/internal/errstr"
)

// ContEnvDir is where the container's environment is saved at start, one
// file a variable, the value its content (s6-dumpenv's format).
const ContEnvDir = "/run/s6/container_environment"

// DumpEnv saves environ in dir, one file a variable, as s6-dumpenv does:
// the file is the name, its content the value, no newline added. A name
// that cannot be a file name (empty, ".", "..", with a /) is skipped.
func DumpEnv(dir string, environ []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errstr.Unable("create", dir, err)
	}
	for _, kv := range environ {
		name, v, ok := strings.Cut(kv, "=")
		if !ok || name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			return errstr.Unable("write", p, err)
		}
	}
	return os.Chmod(dir, 0o755)
}

// ReadContEnv reads dir back: name → value, the whole content of each
// regular file (s6-envdir -Lf: no newline dropped, every line kept). An
// empty file is a variable set to "".
func ReadContEnv(dir string) (map[string]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, errstr.Unable("read", dir, err)
	}
	vars := map[string]string{}
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, errstr.Unable("read", filepath.Join(dir, e.Name()), err)
		}
		vars[e.Name()] = string(b)
	}
	return vars, nil
}

// KeepEnv says whether S6_KEEP_ENV is set to a non-zero number in environ
// (s6-overlay's test: "0$S6_KEEP_ENV" -ne 0).
func KeepEnv(environ []string) bool {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "S6_KEEP_ENV="); ok {
			v = strings.TrimLeft(strings.TrimSpace(v), "0")
			return v != "" && strings.Trim(v, "0123456789") == ""
		}
	}
	return false
}

// WithContenv is the environment with-contenv gives its program: with
// S6_KEEP_ENV, environ unchanged; else only PATH from environ (emptyenv -p),
// then every variable of the saved container environment in dir.
func WithContenv(dir string, environ []string) ([]string, error) {
	if KeepEnv(environ) {
		return environ, nil
	}
	vars, err := ReadContEnv(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kv := range environ {
		if strings.HasPrefix(kv, "PATH=") {
			if _, ok := vars["PATH"]; !ok {
				out = append(out, kv)
			}
		}
	}
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, n+"="+vars[n])
	}
	return out, nil
}

// Printcontenv is printcontenv NAME's value: from environ with
// S6_KEEP_ENV (absent or empty: not found), else from dir's file.
func Printcontenv(dir string, environ []string, name string) (string, bool) {
	if KeepEnv(environ) {
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, name+"="); ok && v != "" {
				return v, true
			}
		}
		return "", false
	}
	if name == "" || strings.ContainsRune(name, '/') {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", false
	}
	return string(b), true
}

// MinimalEnv is what the supervision tree and the CMD run with when the
// environment is not kept (s6-linux-init -s): PATH only.
func MinimalEnv(environ []string) []string {
	for _, kv := range environ {
		if strings.HasPrefix(kv, "PATH=") {
			return []string{kv}
		}
	}
	return []string{"PATH=/command:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
}
