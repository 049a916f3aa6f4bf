package rig

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
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

func TestRecorderTracksLabelledContainers(t *testing.T) {
	r := &Recorder{tracked: map[string]bool{}, labels: map[string]string{}, events: map[string][]Event{}, changed: make(chan struct{})}
	r.TrackLabel("quell.replaces", "")
	r.Track("sha256:bad")
	msg := func(typ events.Type, action, id string, attrs map[string]string) events.Message {
		return events.Message{Type: typ, Action: events.Action(action), Actor: events.Actor{ID: id, Attributes: attrs}, TimeNano: 1}
	}
	r.add(msg(events.ContainerEventType, "create", "other", map[string]string{"name": "x"}))
	r.add(msg(events.ContainerEventType, "create", "new", map[string]string{"quell.replaces": "unit"}))
	r.add(msg(events.NetworkEventType, "connect", "net-id", map[string]string{"container": "new", "name": "net"}))
	r.add(msg(events.ContainerEventType, "start", "new", map[string]string{"quell.replaces": "unit"}))
	r.add(msg(events.ImageEventType, "delete", "sha256:bad", map[string]string{"name": "sha256:bad"}))
	r.add(msg(events.ImageEventType, "delete", "sha256:other", nil))

	if got := r.Created("quell.replaces", "unit"); len(got) != 1 || got[0] != "new" {
		t.Errorf("Created = %v, want [new]", got)
	}
	if got := r.Events("new"); len(got) != 3 || got[1].Action != "connect" || got[1].Network != "net" {
		t.Errorf("events of the replacement = %+v, want create, connect net, start", got)
	}
	if got := r.Events("other"); len(got) != 0 {
		t.Errorf("recorded an untracked container: %+v", got)
	}
	if got := Count(r.Events("sha256:bad"), "delete", time.Unix(0, 0)); got != 1 {
		t.Errorf("image deletes = %d, want 1", got)
	}
}

func TestAlertTagged(t *testing.T) {
	a := Alert{raw: []byte(`{"rule":"r","tags":["container"],"output_fields":{"evt.time":1685022245478445995}}`)}
	got, err := a.Tagged("chaos")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"rule":"r","tags":["chaos","container"],"output_fields":{"evt.time":1685022245478445995}}`; string(got.raw) != want {
		t.Errorf("Tagged = %s, want %s", got.raw, want)
	}
	empty, err := Alert{raw: []byte(`{"tags":[]}`)}.Tagged("chaos")
	if err != nil || string(empty.raw) != `{"tags":["chaos"]}` {
		t.Errorf("Tagged on no tags = %s, %v", empty.raw, err)
	}
}
