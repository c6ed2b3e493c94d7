package svlog

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// writes records each Write apart.
type writes struct{ calls []string }

func (w *writes) Write(p []byte) (int, error) {
	w.calls = append(w.calls, string(p))
	return len(p), nil
}

func capture(t *testing.T) *writes {
	w := &writes{}
	old := stdout
	stdout = w
	t.Cleanup(func() { stdout = old })
	return w
}

// Lines writes every line prefixed, whole lines only in each write, at
// most batchMax bytes a write unless one line alone is longer.
func TestLinesBatches(t *testing.T) {
	w := capture(t)
	var in, want strings.Builder
	for i := 0; i < 500; i++ {
		n := 50
		if i == 100 || i == 300 {
			n = 10000 // longer than a batch
		}
		line := fmt.Sprintf("%04d %s\n", i, strings.Repeat("x", n))
		in.WriteString(line)
		want.WriteString("web: " + line)
	}
	Lines("web", "stdout", []byte(in.String()))
	require.Equal(t, want.String(), strings.Join(w.calls, ""))
	require.Less(t, len(w.calls), 20, "a few writes, not one a line")
	for _, c := range w.calls {
		require.True(t, strings.HasSuffix(c, "\n"), "whole lines only")
		if len(c) > batchMax {
			require.Equal(t, 1, strings.Count(c, "\n"), "only one line alone is longer than a batch")
		}
	}

	// Line and Lines write the same.
	w.calls = nil
	Line("web", "stdout", []byte("one"))
	Lines("web", "stdout", []byte("one\n"))
	require.Equal(t, []string{"web: one\n", "web: one\n"}, w.calls)
}

// In JSON, Lines writes one object a line, without the newline in it.
func TestLinesJSON(t *testing.T) {
	w := capture(t)
	SetJSON(true)
	t.Cleanup(func() { SetJSON(false) })
	Lines("web", "stdout", []byte("one\ntwo\n"))
	require.Len(t, w.calls, 2)
	for i, m := range []string{"one", "two"} {
		require.Contains(t, w.calls[i], `"service":"web","stream":"stdout","message":"`+m+`"}`)
		require.True(t, bytes.HasSuffix([]byte(w.calls[i]), []byte("}\n")))
	}
}
