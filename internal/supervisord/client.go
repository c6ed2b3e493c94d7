package supervisord

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Client calls supervisord's XML-RPC methods over a unix socket (svinit's
// own supervisorctl).
type Client struct {
	Socket             string
	Username, Password string
	http               *http.Client
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
	if c.http == nil {
		c.http = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", c.Socket)
			}}}
	}
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
	req, err := http.NewRequest(http.MethodPost, "http://localhost/RPC2", strings.NewReader(b.String()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	if c.Username != "" {
		req.SetBasicAuth(c.Username, c.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, ErrAuth
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s", resp.Status)
	}
	var r xmlResponse
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&r); err != nil {
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
