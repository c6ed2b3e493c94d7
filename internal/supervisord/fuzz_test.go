package supervisord

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A supervisord.conf of any content is an error or a Config, never a
// panic; an XML-RPC body of any content is a fault or an answer.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"[program:x]\ncommand = a 'b c' \"d\"\nprocess_name=%(program_name)s_%(process_num)02d\nnumprocs=3\n",
		"[supervisord]\nenvironment=A=\"1\",B='2'\n[unix_http_server]\nfile=/tmp/x.sock\nchmod=0777\n",
		"[group:g]\nprograms=x\n[program:x]\ncommand=x\n  continued ; c\n",
		"[include]\nfiles=*.ini\n", "[program:x]\ncommand=%(ENV_HOME)s %%(x)d %(here)5s\n", "[a\n", "=\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		p := filepath.Join(dir, "f.conf")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, pr := range c.Processes {
			if len(pr.Argv) == 0 || pr.Name == "" {
				t.Fatalf("process without argv or name: %+v", pr)
			}
		}
		srv := &Server{Config: c, Dir: dir}
		if _, params, err := decodeCall(strings.NewReader(s)); err == nil {
			srv.Call("supervisor.getProcessInfo", params)
		}
	})
}
