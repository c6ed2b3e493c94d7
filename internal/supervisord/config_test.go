package supervisord

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("H8_GREETING", "hi there")
	main := write(t, dir, "supervisord.conf", `
; a comment
[unix_http_server]
file = %(here)s/s.sock   ; inline comment
chmod = 0770

[supervisord]
environment = A="1,2",B=x

[include]
files = conf.d/*.conf

[program:web]
command = /bin/echo '%(ENV_H8_GREETING)s' "a \"b\"" c\ d;e
  --more
process_name = %(program_name)s-%(process_num)02d
numprocs = 2
numprocs_start = 1
autorestart = false
exitcodes = 0,2
stopsignal = sigint
stopwaitsecs = 3
stopasgroup = true
startsecs = 0
startretries = 5
umask = 077
directory = %(here)s
environment = N=%(process_num)d
stdout_logfile = NONE
redirect_stderr = true
bogus = 1
stdout_events_enabled = true

[group:g]
programs = web, db
priority = 5

[eventlistener:ev]
command = x

[inet_http_server]
port = 9001
`)
	write(t, dir, "conf.d/db.conf", "[program:db]\ncommand = db --flag\nautostart=false\npriority=1\n")
	c, err := Load(main)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "s.sock"), c.Socket.Path)
	require.Equal(t, os.FileMode(0o770), c.Socket.Mode)
	require.Equal(t, [][2]string{{"A", "1,2"}, {"B", "x"}}, c.Env)
	require.Len(t, c.Processes, 3)
	db, w1, w2 := c.Processes[0], c.Processes[1], c.Processes[2]
	require.Equal(t, "g:db", db.Namespec())
	require.False(t, db.Autostart)
	require.Equal(t, "g:web-01", w1.Namespec())
	require.Equal(t, "g:web-02", w2.Namespec())
	require.Equal(t, []string{"/bin/echo", "hi there", `a "b"`, "c d;e", "--more"}, w1.Argv)
	require.Equal(t, "false", w1.Autorestart)
	require.Equal(t, []int{0, 2}, w1.ExitCodes)
	require.Equal(t, "INT", w1.StopSignal)
	require.True(t, w1.StopAsGroup && w1.KillAsGroup && w1.RedirectStderr)
	require.Equal(t, 0, w1.StartSecs)
	require.Equal(t, 0o77, w1.Umask)
	require.Equal(t, [][2]string{{"N", "2"}}, w2.Env)
	require.Equal(t, "", w1.Stdout.Path)
	require.Equal(t, filepath.Join(os.TempDir(), "db-stdout---supervisor-svinit.log"), db.Stdout.Path)
	warnings := strings.Join(c.Warnings, "\n")
	for _, w := range []string{`:31: [program:web] has no key "bogus"`, ":32: [program:web] stdout_events_enabled is not supported",
		":38: [eventlistener:ev] is not supported", ":41: [inet_http_server] is not supported"} {
		require.Contains(t, warnings, main+w)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"[program:x]\ncommand = a 'b\n", ":2: command: no closing quotation"},
		{"key = 1\n", ":1: a key before any [section] header"},
		{"[program:x]\n", ":1: [program:x] must define \"command\""},
		{"[program:x]\ncommand=a\nnumprocs=2\n", "%(process_num) must be present within process_name"},
		{"[program:x]\ncommand=a\nautostart=maybe\n", ":3: autostart: not a boolean"},
		{"[program:x]\ncommand=%(ENV_NO_SUCH_VAR_H8)s\n", ":2: command: "},
		{"[program:x]\ncommand=a\nuser=no-such-user-h8\n", ":3: user: invalid user name no-such-user-h8"},
		{"[program:x]\ncommand=a\n[program:x]\ncommand=b\n", ":3: section [program:x] already defined"},
		{"[group:g]\nprograms=nope\n", ":2: [group:g] names program \"nope\""},
		{"[program:x\n", ":1: a section header without ]"},
		{"[program:x]\ncommand=a\nstopsignal=NOPE\n", ":3: stopsignal: not a signal"},
	} {
		p := write(t, t.TempDir(), "s.conf", c.text)
		_, err := Load(p)
		require.Error(t, err, c.text)
		require.Contains(t, err.Error(), p)
		require.Contains(t, err.Error(), c.want, c.text)
	}
	_, err := Load("/nonexistent/h8.conf")
	require.EqualError(t, err, "unable to read /nonexistent/h8.conf: file does not exist")
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		`a b  c`:           {"a", "b", "c"},
		`sh -c 'echo $X'`:  {"sh", "-c", "echo $X"},
		`x "a\\b\"c" d\ e`: {"x", `a\b"c`, "d e"},
		`x "a\nb"`:         {"x", `a\nb`},
		`x ''`:             {"x", ""},
		"x #not-a-comment": {"x", "#not-a-comment"},
		`a"b"'c'`:          {"abc"},
		"":                 nil,
	} {
		got, err := splitCommand(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
}

func TestExpand(t *testing.T) {
	v, err := expand("%(n)03d-%(s)s-100%%", map[string]string{"n": "7", "s": "x"}, false)
	require.NoError(t, err)
	require.Equal(t, "007-x-100%", v)
	_, err = expand("%(n)d", map[string]string{"n": "x"}, false)
	require.Error(t, err)
}

func TestUptimeAndDescription(t *testing.T) {
	require.Equal(t, "0:01:02", uptime(62))
	require.Equal(t, "1 day, 0:00:01", uptime(86401))
	require.Equal(t, "3 days, 2:00:00", uptime(3*86400+7200))
	now := time.Unix(1000, 0)
	require.Equal(t, "pid 7, uptime 0:00:10", Description(State{Code: Running, Pid: 7, Start: 990}, now))
	require.Equal(t, "Not started", Description(State{Code: Stopped}, now))
	require.Equal(t, tooQuickly, Description(State{Code: Fatal, SpawnErr: tooQuickly}, now))
	require.Equal(t, time.Unix(999, 0).Format("Jan 02 03:04 PM"), Description(State{Code: Exited, Start: 5, Stop: 999}, now))
}

func TestLoggerRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	in := strings.Repeat("0123456789", 10) // 100 bytes, read in one go
	require.NoError(t, Logger(strings.NewReader(in), path, 100, 2))
	require.NoError(t, Logger(strings.NewReader(in), path, 100, 2))
	require.NoError(t, Logger(strings.NewReader(in), path, 100, 2))
	require.NoError(t, Logger(strings.NewReader("tail\n"), path, 100, 2))
	for name, want := range map[string]string{"": "tail\n", ".1": in, ".2": in} {
		b, err := os.ReadFile(path + name)
		require.NoError(t, err)
		require.Equal(t, want, string(b), name)
	}
	_, err := os.Stat(path + ".3")
	require.True(t, os.IsNotExist(err))
}

func TestXMLRPC(t *testing.T) {
	body := `<?xml version='1.0'?><methodCall><methodName>system.multicall</methodName><params><param><value><array><data>
<value><struct><member><name>methodName</name><value><string>supervisor.getAPIVersion</string></value></member>
<member><name>params</name><value><array><data></data></array></value></member></struct></value>
<value><struct><member><name>methodName</name><value>supervisor.nope</value></member></struct></value>
</data></array></value></param></params></methodCall>`
	m, params, err := decodeCall(strings.NewReader(body))
	require.NoError(t, err)
	require.Equal(t, "system.multicall", m)
	s := &Server{Config: &Config{}}
	v, f := s.Call(m, params)
	require.Nil(t, f)
	require.Equal(t, []any{[]any{"3.0"}, map[string]any{"faultCode": 1, "faultString": "UNKNOWN_METHOD"}}, v)
	out := encodeResponse(map[string]any{"a": "<&>\x00", "b": []any{1, true}})
	require.Contains(t, out, "<string>&lt;&amp;&gt;\uFFFD</string>")
	_, f = s.Call("supervisor.getProcessInfo", []any{3})
	require.Equal(t, faultIncorrectParameters, f.Code)
	_, f = s.Call("supervisor.signalProcess", []any{"x"})
	require.Equal(t, faultIncorrectParameters, f.Code)
}
