package rig

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// Event is one daemon event about a container or an image.
type Event struct {
	// Action is the daemon's action: "disconnect", "pause", "commit",
	// "create", "destroy"; for an image "tag", "untag", "delete", ...
	Action string
	// Network names the network of a connect or disconnect.
	Network string
	// Attributes are the actor's attributes as the daemon reports them: a
	// container event carries the container's labels, name and image.
	// Network events have none.
	Attributes map[string]string
	// Time is when the daemon logged it.
	Time time.Time
}

// Recorder keeps the daemon's container, network and image events about
// the containers and images it tracks, as the daemon reports them, so that
// measurements see what really happened rather than what a client believes
// it did.
type Recorder struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	tracked map[string]bool   // container or image IDs
	labels  map[string]string // containers carrying one of these labels are tracked on sight
	events  map[string][]Event
	changed chan struct{} // closed and replaced on every change
	err     error
}

// StartRecorder subscribes to the daemon's events; when it returns, every
// later event is seen. ctx only carries values: Stop ends the subscription.
func StartRecorder(ctx context.Context, api *client.Client) *Recorder {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := make(client.Filters).Add("type", string(events.ContainerEventType), string(events.NetworkEventType), string(events.ImageEventType))
	res := api.Events(ctx, client.EventsListOptions{Filters: f})
	r := &Recorder{
		cancel: cancel, done: make(chan struct{}),
		tracked: map[string]bool{}, labels: map[string]string{}, events: map[string][]Event{}, changed: make(chan struct{}),
	}
	// Events returns once the daemon has answered; a refusal surfaces in Wait.
	go r.read(res)
	return r
}

func (r *Recorder) read(res client.EventsResult) {
	defer close(r.done)
	for {
		select {
		case m := <-res.Messages:
			r.add(m)
		case err := <-res.Err:
			r.fail(err)
			return
		}
	}
}

// add records m when it concerns a tracked container or image, or a
// container carrying a tracked label.
func (r *Recorder) add(m events.Message) {
	id, nw, attrs := m.Actor.ID, "", m.Actor.Attributes
	if m.Type == events.NetworkEventType {
		id, nw, attrs = attrs["container"], attrs["name"], nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.tracked[id] && m.Type == events.ContainerEventType && r.labelled(attrs) {
		r.tracked[id] = true
	}
	if !r.tracked[id] {
		return
	}
	r.events[id] = append(r.events[id], Event{Action: string(m.Action), Network: nw, Attributes: attrs, Time: time.Unix(0, m.TimeNano)})
	close(r.changed)
	r.changed = make(chan struct{})
}

// labelled reports whether attrs carry a tracked label.
func (r *Recorder) labelled(attrs map[string]string) bool {
	for k, want := range r.labels {
		if v, ok := attrs[k]; ok && (want == "" || v == want) {
			return true
		}
	}
	return false
}

func (r *Recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil || errors.Is(err, context.Canceled) {
		err = errors.New("stopped")
	}
	r.err = fmt.Errorf("docker events: %w", err)
	close(r.changed)
	r.changed = make(chan struct{})
}

// Track starts recording the events of the container, or of the image
// given by its full ID (sha256:...).
func (r *Recorder) Track(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tracked[id] = true
}

// TrackLabel starts recording the events of every container seen carrying
// the label key=value (any value when value is empty), from its first event
// on: containers that others, such as quell, create.
func (r *Recorder) TrackLabel(key, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.labels[key] = value
}

// Created returns the IDs of the containers whose recorded "create" event
// carried the label key=value, in the order they were created.
func (r *Recorder) Created(key, value string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	type created struct {
		id string
		at time.Time
	}
	var cs []created
	for id, evs := range r.events {
		for _, e := range evs {
			if e.Action == "create" && e.Attributes[key] == value {
				cs = append(cs, created{id, e.Time})
			}
		}
	}
	slices.SortFunc(cs, func(a, b created) int { return a.at.Compare(b.at) })
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.id
	}
	return ids
}

// Until returns once cond holds, checking it at every recorded event, or
// an error when ctx ends or the event stream breaks first.
func (r *Recorder) Until(ctx context.Context, cond func() bool) error {
	for {
		r.mu.Lock()
		changed, err := r.changed, r.err
		r.mu.Unlock()
		if cond() {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for events: %w", ctx.Err())
		}
	}
}

// Events returns the events recorded for the container or image so far.
func (r *Recorder) Events(id string) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events[id])
}

// Wait returns the container's events once done accepts them, or an error
// when ctx ends or the event stream breaks first.
func (r *Recorder) Wait(ctx context.Context, id string, done func([]Event) bool) ([]Event, error) {
	for {
		r.mu.Lock()
		evs, changed, err := slices.Clone(r.events[id]), r.changed, r.err
		r.mu.Unlock()
		if done(evs) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return evs, fmt.Errorf("container %s: waiting for events: %w", id, ctx.Err())
		}
	}
}

// Stop ends the subscription.
func (r *Recorder) Stop() {
	r.cancel()
	<-r.done
}

// Count counts the events with the action, at or after since.
func Count(evs []Event, action string, since time.Time) int {
	n := 0
	for _, e := range evs {
		if e.Action == action && !e.Time.Before(since) {
			n++
		}
	}
	return n
}

// Disconnects returns the times of the container's disconnect events from
// the network at or after since.
func Disconnects(evs []Event, nw string, since time.Time) []time.Time {
	var out []time.Time
	for _, e := range evs {
		if e.Action == "disconnect" && e.Network == nw && !e.Time.Before(since) {
			out = append(out, e.Time)
		}
	}
	return out
}

// Contained reports when the container was both cut off every network in
// nets and paused, according to evs at or after since. A disconnect is done
// at the perDisconnect-th event the daemon logs about it (see
// Lab.DisconnectEvents).
func Contained(evs []Event, nets []string, perDisconnect int, since time.Time) (time.Time, bool) {
	i := slices.IndexFunc(evs, func(e Event) bool { return e.Action == "pause" && !e.Time.Before(since) })
	if i < 0 {
		return time.Time{}, false
	}
	last := evs[i].Time
	for _, nw := range nets {
		ds := Disconnects(evs, nw, since)
		if len(ds) < perDisconnect {
			return time.Time{}, false
		}
		if at := ds[perDisconnect-1]; at.After(last) {
			last = at
		}
	}
	return last, true
}
