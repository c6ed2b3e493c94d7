// Package httpmini is svinit's one HTTP/1.x layer: enough of the protocol
// for its two servers — the --http endpoints (/livez, /readyz, /metrics) and
// supervisorctl's XML-RPC on the supervisord socket — and the supervisorctl
// applet's client, without net/http (which, with what it pulls in, more
// than doubles the binary and adds about 0.3 ms of package initialisation
// to every applet's start: the svc -h path).
package httpmini

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Request is one request: its line, its headers (names in lower case; a
// repeated header keeps the last value) and its body.
type Request struct {
	Method, Target, Proto string
	Header                map[string]string
	Body                  []byte
}

// KeepAlive: the client may send another request on the connection.
func (r *Request) KeepAlive() bool {
	conn := strings.ToLower(r.Header["connection"])
	if r.Proto == "HTTP/1.1" {
		return conn != "close"
	}
	return conn == "keep-alive"
}

// Reader reads requests from one connection, one after the other (a
// client may keep the connection for more).
type Reader struct {
	lr *io.LimitedReader
	br *bufio.Reader
}

// NewReader reads requests from r.
func NewReader(r io.Reader) *Reader {
	lr := &io.LimitedReader{R: r}
	return &Reader{lr: lr, br: bufio.NewReaderSize(lr, 1024)}
}

// Read reads one request: the head up to the empty line that ends it (at
// most maxHead bytes read), then a body of Content-Length bytes (at most
// maxBody; negative: the body is left unread). It returns the request and 200; or 400 (malformed), 431 (head
// over maxHead), 413 (body over maxBody), or 0 when the connection ended or
// timed out first. A request line without a version (HTTP/0.9) has no
// headers; a client that stops sending after a whole request line is
// answered too. Memory stays bounded by maxHead and maxBody.
func (rd *Reader) Read(maxHead, maxBody int64) (*Request, int) {
	rd.lr.N = maxHead
	req := &Request{Header: map[string]string{}}
	var last string
	for {
		line, err := rd.br.ReadString('\n')
		if err != nil {
			switch {
			case rd.lr.N <= 0:
				return nil, 431
			case req.Target != "" && errors.Is(err, io.EOF) && line == "":
				return req, 200
			}
			return nil, 0
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case req.Target == "" && line == "": // empty lines before the request line are allowed
		case req.Target == "":
			f := strings.Fields(line)
			if len(f) < 2 || len(f) > 3 || (len(f) == 3 && !strings.HasPrefix(f[2], "HTTP/")) {
				return nil, 400
			}
			req.Method, req.Target = f[0], f[1]
			if len(f) == 2 {
				return req, 200
			}
			req.Proto = f[2]
		case line == "":
			return rd.body(req, maxBody)
		case line[0] == ' ' || line[0] == '\t': // a folded header goes on
			if last != "" {
				req.Header[last] += " " + strings.TrimSpace(line)
			}
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok || strings.TrimSpace(name) == "" {
				return nil, 400
			}
			last = strings.ToLower(strings.TrimSpace(name))
			req.Header[last] = strings.TrimSpace(value)
		}
	}
}

func (rd *Reader) body(req *Request, maxBody int64) (*Request, int) {
	cl, ok := req.Header["content-length"]
	if !ok || maxBody < 0 { // maxBody < 0: the caller does not read bodies (the connection ends after the answer)
		return req, 200
	}
	n, err := strconv.ParseInt(cl, 10, 64)
	if err != nil || n < 0 {
		return nil, 400
	}
	if n > maxBody {
		return nil, 413
	}
	rd.lr.N += n
	req.Body = make([]byte, n)
	if _, err := io.ReadFull(rd.br, req.Body); err != nil {
		return nil, 0
	}
	return req, 200
}

var reasons = map[int]string{200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
	405: "Method Not Allowed", 410: "Gone", 413: "Content Too Large", 431: "Request Header Fields Too Large",
	500: "Internal Server Error", 503: "Service Unavailable"}

// Reason is the reason phrase of a status code.
func Reason(code int) string { return reasons[code] }

// WriteResponse writes a whole response with its Content-Length. extra
// headers are "Name: value" lines.
func WriteResponse(w io.Writer, proto string, code int, contentType string, body []byte, keepAlive bool, extra ...string) error {
	conn := "close"
	if keepAlive {
		conn = "keep-alive"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: %s\r\n", proto, code, Reason(code), contentType, len(body), conn)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// Response is what ReadResponse read: the status and the body.
type Response struct {
	Code   int
	Header map[string]string
	Body   []byte
}

// StatusLine reads a response's status line ("HTTP/1.1 200 OK\r\n"): its
// code and what follows the version ("200 OK"); ok is false for anything
// else.
func StatusLine(line string) (code int, status string, ok bool) {
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return 0, "", false
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, "", false
	}
	return code, strings.Join(f[1:], " "), true
}

// ReadResponse reads a response: its status line, headers and body (by
// Content-Length, or to the end of the connection), at most maxBody bytes.
func ReadResponse(br *bufio.Reader, maxBody int64) (*Response, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("reading the status line: %w", err)
	}
	code, _, ok := StatusLine(line)
	if !ok {
		return nil, fmt.Errorf("not an HTTP status line: %q", strings.TrimSpace(line))
	}
	resp := &Response{Code: code, Header: map[string]string{}}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("reading the headers: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if name, value, ok := strings.Cut(line, ":"); ok {
			resp.Header[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
		}
	}
	r := io.Reader(br)
	if cl, ok := resp.Header["content-length"]; ok {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad Content-Length %q", cl)
		}
		r = io.LimitReader(br, n)
	}
	resp.Body, err = io.ReadAll(io.LimitReader(r, maxBody))
	return resp, err
}
