package supervisor

import "testing"

// Any sequence of control bytes (through the real command table), mixed
// with the process events that may come between them, drives the life cycle
// without a panic and into no impossible state: a start is only asked for
// into phase up, a backoff timer only in phase backoff, and a service that
// is up is never started again; u always means want up, d and o want down
// — until the container stops (or its deadline is over): from then on
// nothing starts, nothing is wanted up, and the down-signal goes out at
// most once per process.
func FuzzControl(f *testing.F) {
	f.Add([]byte("udoupctkhaiq12x"), []byte{0, 1, 2, 3})
	f.Add([]byte("dddduuuu"), []byte{4, 4, 4})
	f.Add([]byte("\x00\xffz"), []byte{})
	process := []event{{kind: evRunDied, lived: 2e9}, {kind: evRunDied, lived: 1e6, code: 1}, {kind: evStartFailed},
		{kind: evFinishDone}, {kind: evBackoffOver}, {kind: evBlocked}, {kind: evDepsReady}, {kind: evRemoved},
		{kind: evShutdown, held: true}, {kind: evShutdown}, {kind: evUnheld}, {kind: evDeadline}}
	f.Fuzz(func(t *testing.T, cmds, procs []byte) {
		s := state{phase: phaseDown, wantUp: true, policy: policy{maxRestarts: 3, essential: true}}
		for i := 0; i < len(cmds) || i < len(procs); i++ {
			var evs []event
			if i < len(cmds) {
				if ev, ok := commands[cmds[i]]; ok {
					evs = append(evs, ev)
				}
			}
			if i < len(procs) {
				evs = append(evs, process[int(procs[i])%len(process)])
			}
			for _, ev := range evs {
				before := s
				var acts []action
				s, acts = next(s, ev)
				if s.phase > phaseWait {
					t.Fatalf("phase %d after %v", s.phase, ev)
				}
				if before.stopping && (s.wantUp || !s.stopping) {
					t.Fatalf("%v left %s from %s: wanted up while stopping", ev, render(s), render(before))
				}
				if before.noFinish && s.wantUp {
					t.Fatalf("%v left %s from %s: wanted up past the deadline", ev, render(s), render(before))
				}
				if ev.kind == evUp && !s.exiting && !s.stopping && !s.noFinish && !s.wantUp {
					t.Fatalf("u left %s from %s: not wanted up", render(s), render(before))
				}
				if (ev.kind == evDown || ev.kind == evOnce) && s.wantUp {
					t.Fatalf("%v left %s wanted up", ev, render(s))
				}
				for _, a := range acts {
					if a.kind == actStartRun && (s.stopping || before.noFinish) {
						t.Fatalf("start while stopping: %s on %v", render(before), ev)
					}
					if a.kind == actDownSignal && before.downSent && (before.stopping || ev.kind == evShutdown) {
						t.Fatalf("second down-signal to one process: %s on %v", render(before), ev)
					}
					if a.kind == actStartRun && (s.phase != phaseUp || before.phase == phaseUp) {
						t.Fatalf("start from %s into %s on %v", render(before), render(s), ev)
					}
					if a.kind == actBackoff && s.phase != phaseBackoff {
						t.Fatalf("backoff timer in %s", render(s))
					}
				}
			}
		}
	})
}
