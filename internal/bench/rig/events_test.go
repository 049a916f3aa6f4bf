package rig

import (
	"testing"
	"time"
)

func TestContained(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	evs := []Event{
		{Action: "connect", Network: "a", Time: at(-100)},
		{Action: "disconnect", Network: "a", Time: at(-50)}, // before the alert
		{Action: "disconnect", Network: "a", Time: at(10)},
		{Action: "disconnect", Network: "a", Time: at(12)},
		{Action: "disconnect", Network: "b", Time: at(30)},
		{Action: "disconnect", Network: "b", Time: at(33)},
		{Action: "pause", Time: at(40)},
	}
	cases := []struct {
		name string
		evs  []Event
		nets []string
		per  int
		want time.Time
		ok   bool
	}{
		{"all seen, two events per disconnect", evs, []string{"a", "b"}, 2, at(40), true},
		{"no network", evs, nil, 2, at(40), true},
		{"pause missing", evs[:6], []string{"a", "b"}, 2, time.Time{}, false},
		{"second event of b missing", append(evs[:5:5], evs[6]), []string{"a", "b"}, 2, time.Time{}, false},
		{"network never cut", evs, []string{"a", "c"}, 1, time.Time{}, false},
	}
	for _, tc := range cases {
		got, ok := Contained(tc.evs, tc.nets, tc.per, t0)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%s: Contained() = %v, %t, want %v, %t", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	if got := Count(evs, "disconnect", t0); got != 4 {
		t.Errorf("Count(disconnect) = %d, want 4", got)
	}
	if got := len(Disconnects(evs, "a", t0)); got != 2 {
		t.Errorf("Disconnects(a) = %d, want 2", got)
	}
}
