package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/svinit/svinit/internal/errstr"
)

// checkRunnable tells, before a start, why a script could not run: missing,
// a directory, not executable, or a #! interpreter that does not exist. It
// returns nil when exec has a chance.
func checkRunnable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("unable to start %s: %s", path, errstr.Text(err))
	}
	if st.IsDir() {
		return fmt.Errorf("unable to start %s: is a directory", path)
	}
	if st.Mode()&0o111 == 0 {
		return fmt.Errorf("unable to start %s: not executable (chmod +x %s)", path, filepath.Base(path))
	}
	interp, err := interpreter(path)
	if err != nil {
		return fmt.Errorf("unable to start %s: %s", path, errstr.Text(err))
	}
	if interp == "" {
		return nil
	}
	ist, err := os.Stat(interp)
	if err != nil {
		return fmt.Errorf("unable to start %s: interpreter %s: %s", path, interp, errstr.Text(err))
	}
	if ist.IsDir() || ist.Mode()&0o111 == 0 {
		return fmt.Errorf("unable to start %s: interpreter %s is not executable", path, interp)
	}
	return nil
}

// interpreter reads the #! line of a script: "" for an ELF binary. Anything
// else is what execve refuses with ENOEXEC.
func interpreter(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := f.Read(buf)
	buf = buf[:n]
	if bytes.HasPrefix(buf, []byte("\x7fELF")) {
		return "", nil
	}
	if !bytes.HasPrefix(buf, []byte("#!")) {
		return "", fmt.Errorf("exec format error (neither #! nor ELF)")
	}
	line, _, _ := bytes.Cut(buf[2:], []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return "", fmt.Errorf("empty #! line")
	}
	return fields[0], nil
}
