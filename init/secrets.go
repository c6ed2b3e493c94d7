package pid1

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/svinit/svinit/internal/errstr"
	"github.com/svinit/svinit/internal/svlog"
)

// Secrets from files (--secrets-from-files, SVINIT_SECRET_FILES): before
// anything starts, a variable NAME_FILE=/path (the Docker official images'
// convention) or FILE__NAME=/path (s6-overlay images') becomes NAME with
// the file's content, one trailing newline dropped; NAME_FILE and
// FILE__NAME are taken out. The services and the main command inherit the
// result. SVINIT_SECRET_FILES=1 (or the flag) takes every FILE__NAME, and
// every NAME_FILE whose file is under /run/secrets (where Docker, Compose
// and Swarm mount secrets): a NAME_FILE elsewhere is most often no secret
// (SSL_CERT_FILE, TF_CLI_CONFIG_FILE) and stays as it is. A
// comma-separated list of NAMEs takes those alone, wherever their file
// is. Any file that cannot
// be read, and NAME set together with NAME_FILE (the official images
// refuse it too), ends the start-up with SecretsCode: nothing starts with
// half an environment.

// SecretsCode is svinit's exit code when a secret file could not be read.
const SecretsCode = 111

// SecretsAll is Config.SecretFiles for every FILE__NAME, and every
// NAME_FILE under SecretsDir.
const SecretsAll = "1"

// SecretsDir is where SecretsAll takes a NAME_FILE from.
const SecretsDir = "/run/secrets/"

// ResolveSecretFiles applies which ("" nothing, SecretsAll, or a list of
// names) to environ and returns the new environment, in environ's order.
func ResolveSecretFiles(environ []string, which string) ([]string, error) {
	if which == "" || which == "0" {
		return environ, nil
	}
	wanted := map[string]bool{}
	if which != SecretsAll {
		for _, n := range strings.Split(which, ",") {
			if n = strings.TrimSpace(n); n != "" {
				wanted[n] = true
			}
		}
	}
	take := func(name string) bool {
		return name != "" && validName(name) && (which == SecretsAll || wanted[name])
	}
	set := map[string]bool{}
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	values := map[string]string{} // NAME → content
	drop := map[string]bool{}     // the _FILE variables taken
	var order []string
	for _, kv := range environ {
		k, path, _ := strings.Cut(kv, "=")
		var name string
		official := false
		switch {
		case strings.HasPrefix(k, "FILE__"):
			name = strings.TrimPrefix(k, "FILE__")
		case strings.HasSuffix(k, "_FILE"):
			name, official = strings.TrimSuffix(k, "_FILE"), true
		}
		if !take(name) || (official && which == SecretsAll && !strings.HasPrefix(filepath.Clean(path), SecretsDir)) {
			continue
		}
		if official && set[name] {
			return nil, fmt.Errorf("secret %s: both %s and %s are set: unset one", name, name, k)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, errstr.Unable("read", path, err))
		}
		if _, dup := values[name]; !dup {
			order = append(order, name)
		}
		values[name] = strings.TrimSuffix(string(b), "\n")
		drop[k] = true
	}
	if len(values) == 0 {
		return environ, nil
	}
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] {
			continue
		}
		if v, ok := values[k]; ok {
			kv = k + "=" + v // FILE__NAME wins over NAME, as in s6-overlay images
			delete(values, k)
		}
		out = append(out, kv)
	}
	for _, n := range order {
		if v, ok := values[n]; ok {
			out = append(out, n+"="+v)
		}
	}
	return out, nil
}

// validName: a name a shell can export.
func validName(n string) bool {
	for i, c := range n {
		if c != '_' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return n != ""
}

// stepSecrets resolves the secret files into svinit's own environment,
// which every service and the main command inherit, and s6-overlay's saved
// container environment is made of (the step after).
func (in *initProc) stepSecrets() (int, error) {
	if in.cfg.SecretFiles == "" {
		return 0, nil
	}
	env, err := ResolveSecretFiles(os.Environ(), in.cfg.SecretFiles)
	if err != nil {
		svlog.SetJSON(in.cfg.LogJSON) // the step log-format comes later
		svlog.Fatal("%v: nothing started", err)
		in.term.failed("%v", err)
		return SecretsCode, errStop
	}
	os.Clearenv()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	return 0, nil
}
