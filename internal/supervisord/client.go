package supervisord

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/httpmini"
)

// Client calls supervisord's XML-RPC methods over a unix socket (svinit's
// own supervisorctl).
type Client struct {
	Socket             string
	Username, Password string
}

type xmlResponse struct {
	XMLName xml.Name   `xml:"methodResponse"`
	Params  []xmlValue `xml:"params>param>value"`
	Fault   *xmlValue  `xml:"fault>value"`
}

// ErrAuth is a 401 from the server.
var ErrAuth = errors.New("Server requires authentication")

// Call runs method with params; a fault is a *Fault.
func (c *Client) Call(method string, params ...any) (any, error) {
	var b strings.Builder
	b.WriteString("<?xml version='1.0'?>\n<methodCall>\n<methodName>")
	escape(&b, method)
	b.WriteString("</methodName>\n<params>\n")
	for _, p := range params {
		b.WriteString("<param>\n")
		writeValue(&b, p)
		b.WriteString("</param>\n")
	}
	b.WriteString("</params>\n</methodCall>\n")
	conn, err := net.DialTimeout("unix", c.Socket, 30*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Minute))
	auth := ""
	if c.Username != "" {
		auth = "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)) + "\r\n"
	}
	head := fmt.Sprintf("POST /RPC2 HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n", b.Len(), auth)
	if _, err := io.WriteString(conn, head+b.String()); err != nil {
		return nil, err
	}
	resp, err := httpmini.ReadResponse(bufio.NewReader(conn), 64<<20)
	if err != nil {
		return nil, err
	}
	if resp.Code == 401 {
		return nil, ErrAuth
	}
	if resp.Code != 200 {
		return nil, fmt.Errorf("%d %s", resp.Code, httpmini.Reason(resp.Code))
	}
	var r xmlResponse
	if err := xml.NewDecoder(bytes.NewReader(resp.Body)).Decode(&r); err != nil {
		return nil, fmt.Errorf("not an XML-RPC response: %v", err)
	}
	if r.Fault != nil {
		v, err := r.Fault.decode(0)
		if err != nil {
			return nil, err
		}
		m, _ := v.(map[string]any)
		code, _ := m["faultCode"].(int)
		str, _ := m["faultString"].(string)
		return nil, &Fault{Code: code, String: str}
	}
	if len(r.Params) != 1 {
		return nil, errors.New("not an XML-RPC response: no value")
	}
	return r.Params[0].decode(0)
}
