package supervisord

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// XML-RPC with the standard library's encoding/xml: the request is
// decoded into xmlValue by xml.Unmarshal (a real XML parser, with its
// entity and nesting handling, rather than a hand-made one), and the
// response is written with xml.EscapeText for every string.

type xmlCall struct {
	XMLName xml.Name   `xml:"methodCall"`
	Method  string     `xml:"methodName"`
	Params  []xmlValue `xml:"params>param>value"`
}

type xmlMember struct {
	Name  string   `xml:"name"`
	Value xmlValue `xml:"value"`
}

type xmlValue struct {
	String  *string   `xml:"string"`
	Int     *string   `xml:"int"`
	I4      *string   `xml:"i4"`
	Boolean *string   `xml:"boolean"`
	Double  *string   `xml:"double"`
	Nil     *struct{} `xml:"nil"`
	Array   *struct {
		Data []xmlValue `xml:"data>value"`
	} `xml:"array"`
	Struct *struct {
		Members []xmlMember `xml:"member"`
	} `xml:"struct"`
	Text string `xml:",chardata"`
}

// maxDepth bounds nested arrays and structs in a request.
const maxDepth = 32

func (v xmlValue) decode(depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("values nested too deep")
	}
	switch {
	case v.String != nil:
		return *v.String, nil
	case v.Int != nil, v.I4 != nil:
		s := v.Int
		if s == nil {
			s = v.I4
		}
		n, err := strconv.Atoi(strings.TrimSpace(*s))
		if err != nil {
			return nil, fmt.Errorf("not an int: %q", *s)
		}
		return n, nil
	case v.Boolean != nil:
		switch strings.TrimSpace(*v.Boolean) {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
		return nil, fmt.Errorf("not a boolean: %q", *v.Boolean)
	case v.Double != nil:
		f, err := strconv.ParseFloat(strings.TrimSpace(*v.Double), 64)
		if err != nil {
			return nil, fmt.Errorf("not a double: %q", *v.Double)
		}
		return f, nil
	case v.Nil != nil:
		return nil, nil
	case v.Array != nil:
		out := make([]any, 0, len(v.Array.Data))
		for _, e := range v.Array.Data {
			d, err := e.decode(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		return out, nil
	case v.Struct != nil:
		out := make(map[string]any, len(v.Struct.Members))
		for _, m := range v.Struct.Members {
			d, err := m.Value.decode(depth + 1)
			if err != nil {
				return nil, err
			}
			out[m.Name] = d
		}
		return out, nil
	}
	return v.Text, nil // a value without a type is a string
}

// decodeCall reads a methodCall (at most limit bytes).
func decodeCall(r io.Reader) (string, []any, error) {
	var c xmlCall
	if err := xml.NewDecoder(r).Decode(&c); err != nil {
		return "", nil, fmt.Errorf("not an XML-RPC methodCall: %v", err)
	}
	params := make([]any, 0, len(c.Params))
	for _, p := range c.Params {
		d, err := p.decode(0)
		if err != nil {
			return "", nil, err
		}
		params = append(params, d)
	}
	return strings.TrimSpace(c.Method), params, nil
}

// Fault is an XML-RPC fault with supervisord's codes.
type Fault struct {
	Code   int
	String string
}

func (f *Fault) Error() string { return f.String }

// supervisord's fault codes (supervisor/xmlrpc.py).
const (
	faultUnknownMethod       = 1
	faultIncorrectParameters = 2
	faultBadArguments        = 3
	faultShutdownState       = 6
	faultBadName             = 10
	faultBadSignal           = 11
	faultNoFile              = 20
	faultFailed              = 30
	faultSpawnError          = 50
	faultAlreadyStarted      = 60
	faultNotRunning          = 70
	faultSuccess             = 80
	faultCantReread          = 92
)

var faultNames = map[int]string{
	faultUnknownMethod: "UNKNOWN_METHOD", faultIncorrectParameters: "INCORRECT_PARAMETERS",
	faultBadArguments: "BAD_ARGUMENTS", faultShutdownState: "SHUTDOWN_STATE", faultBadName: "BAD_NAME",
	faultBadSignal: "BAD_SIGNAL", faultNoFile: "NO_FILE", faultFailed: "FAILED",
	40: "ABNORMAL_TERMINATION", faultSpawnError: "SPAWN_ERROR", faultAlreadyStarted: "ALREADY_STARTED",
	faultNotRunning: "NOT_RUNNING", faultSuccess: "SUCCESS", faultCantReread: "CANT_REREAD",
}

const faultAbnormal = 40

// rpcError is supervisord's RPCError: "NAME: extra".
func rpcError(code int, extra string) *Fault {
	s := faultNames[code]
	if extra != "" {
		s += ": " + extra
	}
	return &Fault{Code: code, String: s}
}

func writeValue(b *strings.Builder, v any) {
	b.WriteString("<value>")
	switch x := v.(type) {
	case nil:
		b.WriteString("<nil/>")
	case string:
		b.WriteString("<string>")
		escape(b, x)
		b.WriteString("</string>")
	case int:
		b.WriteString("<int>" + strconv.Itoa(x) + "</int>")
	case int64:
		b.WriteString("<int>" + strconv.FormatInt(x, 10) + "</int>")
	case bool:
		if x {
			b.WriteString("<boolean>1</boolean>")
		} else {
			b.WriteString("<boolean>0</boolean>")
		}
	case float64:
		b.WriteString("<double>" + strconv.FormatFloat(x, 'f', -1, 64) + "</double>")
	case []any:
		b.WriteString("<array><data>\n")
		for _, e := range x {
			writeValue(b, e)
		}
		b.WriteString("</data></array>")
	case []string:
		b.WriteString("<array><data>\n")
		for _, e := range x {
			writeValue(b, e)
		}
		b.WriteString("</data></array>")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<struct>\n")
		for _, k := range keys {
			b.WriteString("<member>\n<name>")
			escape(b, k)
			b.WriteString("</name>\n")
			writeValue(b, x[k])
			b.WriteString("</member>\n")
		}
		b.WriteString("</struct>")
	default:
		b.WriteString("<string>")
		escape(b, fmt.Sprint(x))
		b.WriteString("</string>")
	}
	b.WriteString("</value>\n")
}

// escape writes s as XML text; bytes that are not valid UTF-8, and
// characters XML 1.0 cannot carry, become U+FFFD.
func escape(b *strings.Builder, s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000 {
			return r
		}
		return '\uFFFD'
	}, s)
	_ = xml.EscapeText(stringWriter{b}, []byte(s))
}

type stringWriter struct{ b *strings.Builder }

func (w stringWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

func encodeResponse(v any) string {
	var b strings.Builder
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n")
	writeValue(&b, v)
	b.WriteString("</param>\n</params>\n</methodResponse>\n")
	return b.String()
}

func encodeFault(f *Fault) string {
	var b strings.Builder
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n")
	writeValue(&b, map[string]any{"faultCode": f.Code, "faultString": f.String})
	b.WriteString("</fault>\n</methodResponse>\n")
	return b.String()
}
