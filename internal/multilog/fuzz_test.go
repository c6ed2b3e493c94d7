package multilog

import (
	"strings"
	"testing"
	"time"
)

// Parse and match never panic; a stamp round-trips.
func FuzzScript(f *testing.F) {
	for _, s := range []string{"t s4096 n3 ./log", "-* +*error* e", "T", "s1 n0 /x", "=status e", "+", "bogus", "t t"} {
		f.Add(s, "line with error in it")
	}
	f.Fuzz(func(t *testing.T, script, line string) {
		s, err := Parse(strings.Fields(script))
		if err == nil {
			for _, a := range s.actions {
				if a.kind == actSelect || a.kind == actDeselect {
					match(a.pattern, []byte(line))
				}
			}
		}
		if _, ok := ParseTAI64N(line); ok {
			return
		}
	})
}

func TestTAI64NRoundTrip(t *testing.T) {
	now := time.Unix(1795000000, 123456789)
	got, ok := ParseTAI64N(TAI64N(now) + " rest")
	if !ok || !got.Equal(now) {
		t.Fatalf("%v %v", got, ok)
	}
	if TAI64N(time.Unix(0, 0)) != "@400000000000000a00000000" {
		t.Fatal(TAI64N(time.Unix(0, 0)))
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		p, l string
		want bool
	}{
		{"*", "anything", true}, {"", "", true}, {"", "x", false}, {"a*", "abc", true},
		{"*error*", "an error here", true}, {"*error*", "no problem", false}, {"a*c", "abc", true},
		{"a*c", "abcc", false}, {"x", "xy", false},
	} {
		if got := match(c.p, []byte(c.l)); got != c.want {
			t.Errorf("match(%q, %q) = %v", c.p, c.l, got)
		}
	}
}
