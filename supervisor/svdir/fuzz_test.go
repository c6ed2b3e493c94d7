package svdir

import (
	"testing"
)

// Decode never panics, and what it decodes encodes back to the same fields.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("\x40\x00\x00\x00\x6b\x04\xe1\x2b\x2d\xbc\x06\xf3\x08\x00\x00\x00\x00\x75\x00\x01"))
	f.Add([]byte("\x40\x00\x00\x00\x6b\x04\xe0\x18\x31\xbe\xe6\xc4\x00\x00\x00\x00\x00\x64"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Decode(func() []byte { e := st.Encode(); return e[:] }())
		if err != nil || again.Pid != st.Pid || again.Want != st.Want || again.Paused != st.Paused {
			t.Fatalf("round trip: %+v -> %+v (%v)", st, again, err)
		}
	})
}
