package poller

import (
	"testing"

	"go.uber.org/goleak"
)

// No test may leave a goroutine behind, but the poller's own: a Poller has
// no Close by design — svinit makes one for the life of the process — so
// its wait goroutine (blocked in epoll_wait, which is the top of its stack:
// hence IgnoreAnyFunction, not IgnoreTopFunction) outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/svinit/svinit/internal/poller.(*Poller).wait"))
}
