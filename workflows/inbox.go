package workflows

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
)

// Alert inboxes. Temporal records a signal in a write of its own to the
// workflow it names, so a storm that spreads over many units costs a write
// per unit per alert, however intake groups them: group commit only joins
// the alerts of one unit. An inbox is a workflow that takes, in one signal,
// the alerts of every unit whose incident intake has just seen open, and
// passes each unit its share in one signal per unit per round. Intake
// answers an alert once the inbox has it, as durable there as in the
// incident; the rounds grow as fast as forwarding is slow, so many units
// cost a few writes per round instead of one per alert.
//
// An alert about a unit with no incident intake knows of still goes to
// the unit's incident directly: containment never waits on an inbox.
// Alerts of one unit always go to one inbox, in order.

const (
	// InboxWorkflow is the alert inbox's workflow type.
	InboxWorkflow = "AlertInbox"
	// SignalInbox carries alerts for an inbox, as []activities.AlertGroup.
	SignalInbox = "alerts"
	// InboxShards is how many inboxes intake spreads units over. One
	// carries the most alerts per write: on the embedded server's SQLite,
	// which writes one at a time, four inboxes took 40 units' storm at
	// about half the rate one did.
	InboxShards = 1
	// inboxRunEvents is how long an inbox's history grows before it
	// continues as new, carrying what it has not forwarded.
	inboxRunEvents = 2000
	// forwardBytes bounds one round's activity input, and so the signal
	// to each incident in it, and forwardRefs the alerts of one group,
	// well under Temporal's 2 MiB payload limit; a storm on one unit
	// still goes on at a megabyte of alerts a round.
	forwardBytes = 1 << 20
	forwardRefs  = 4096
	// carryBytes bounds what an inbox carries into its next run: one with
	// more waiting forwards it first, however long its history.
	carryBytes = 1 << 20
	// roundEvery is the least time between two rounds' starts: each
	// round costs a write and a workflow task on every unit it names, so
	// under a storm over many units rounds are fewer and carry more,
	// while a round after a quiet spell goes at once.
	roundEvery = 250 * time.Millisecond
	// heldRetry is how long a group that did not reach its incident waits
	// before it is sent again; the others go on meanwhile.
	heldRetry = 10 * time.Second
)

var intakeActs *activities.Intake

// InboxID is the workflow ID of the inbox that takes unit's alerts.
func InboxID(unit string) string {
	h := fnv.New32a()
	h.Write([]byte(unit))
	return fmt.Sprintf("quell-inbox-%d", h.Sum32()%InboxShards)
}

// Inbox is an inbox's state across runs: the groups not yet forwarded.
type Inbox struct {
	Pending []activities.AlertGroup `json:"pending,omitempty"`
	Held    []activities.AlertGroup `json:"held,omitempty"`
}

// AlertInbox takes alerts for many units and forwards them to their
// incidents, round after round, continuing as new when its history grows.
// It never ends otherwise.
func AlertInbox(ctx workflow.Context, in Inbox) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           TaskQueue,
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumInterval: 30 * time.Second},
	})
	box := inbox{pending: in.Pending, held: in.Held}
	sig := workflow.GetSignalChannel(ctx, SignalInbox)
	take := func() {
		var groups []activities.AlertGroup
		for sig.ReceiveAsync(&groups) {
			box.add(groups)
		}
	}
	runID := workflow.GetInfo(ctx).WorkflowExecution.RunID
	var heldSince, lastRound time.Time
	for round := 1; !historyLong(ctx, inboxRunEvents) || box.bytes() > carryBytes; round++ {
		take()
		if len(box.pending) == 0 {
			// Wait for alerts, or for the held ones' next try.
			s := workflow.NewSelector(ctx)
			s.AddReceive(sig, func(c workflow.ReceiveChannel, _ bool) {
				var groups []activities.AlertGroup
				c.Receive(ctx, &groups)
				box.add(groups)
			})
			if len(box.held) > 0 {
				wait := heldRetry - workflow.Now(ctx).Sub(heldSince)
				s.AddFuture(workflow.NewTimer(ctx, max(wait, time.Millisecond)), func(workflow.Future) {})
			}
			s.Select(ctx)
			take()
		}
		if len(box.held) > 0 && workflow.Now(ctx).Sub(heldSince) >= heldRetry {
			box.pending = append(box.held, box.pending...)
			box.held = nil
		}
		if len(box.pending) == 0 {
			continue
		}
		if wait := roundEvery - workflow.Now(ctx).Sub(lastRound); wait > 0 {
			_ = workflow.Sleep(ctx, wait)
			take()
		}
		lastRound = workflow.Now(ctx)
		batch := box.next()
		var res activities.ForwardResult
		err := workflow.ExecuteActivity(ctx, intakeActs.ForwardAlerts, activities.ForwardInput{
			Groups: batch, Request: fmt.Sprintf("%s/%d", runID, round),
		}).Get(ctx, &res)
		if err != nil {
			// The activity retries until it answers: only cancelling the
			// inbox ends it.
			if temporal.IsCanceledError(err) {
				return err
			}
			box.pending = append(batch, box.pending...)
			_ = workflow.Sleep(ctx, time.Second)
			continue
		}
		if len(res.Failed) > 0 {
			if len(box.held) == 0 {
				heldSince = workflow.Now(ctx)
			}
			for i, f := range res.Failed {
				if f >= 0 && f < len(batch) {
					box.hold(batch[f])
					workflow.GetLogger(ctx).Warn("alerts did not reach their incident; sending them again",
						"unit", batch[f].Unit, "alerts", len(batch[f].Refs), "err", res.Errors[i])
				}
			}
		}
	}
	take()
	return workflow.NewContinueAsNewError(ctx, InboxWorkflow, Inbox{Pending: box.pending, Held: box.held})
}

// inbox holds the groups waiting, one a unit, in the order their units'
// first alerts came.
type inbox struct {
	pending []activities.AlertGroup
	held    []activities.AlertGroup
}

// add joins groups to the waiting ones of their units: to the held ones
// of a unit held, so that its alerts still reach it in order.
func (b *inbox) add(groups []activities.AlertGroup) {
	at := make(map[string]int, len(b.pending))
	for i, g := range b.pending {
		at[g.Unit] = i
	}
	for _, g := range groups {
		if i := groupAt(b.held, g.Unit); i >= 0 {
			b.held[i].Refs = append(b.held[i].Refs, g.Refs...)
			continue
		}
		if i, ok := at[g.Unit]; ok {
			b.pending[i].Refs = append(b.pending[i].Refs, g.Refs...)
			continue
		}
		at[g.Unit] = len(b.pending)
		b.pending = append(b.pending, g)
	}
}

// hold holds a group its incident did not take, and the alerts of its
// unit waiting behind it.
func (b *inbox) hold(g activities.AlertGroup) {
	if i := groupAt(b.held, g.Unit); i >= 0 {
		b.held[i].Refs = append(b.held[i].Refs, g.Refs...)
	} else {
		b.held = append(b.held, g)
	}
	if i := groupAt(b.pending, g.Unit); i >= 0 {
		behind := b.pending[i]
		b.pending = append(b.pending[:i], b.pending[i+1:]...)
		b.hold(behind)
	}
}

// groupAt is the index of unit's group in groups, or -1.
func groupAt(groups []activities.AlertGroup, unit string) int {
	for i, g := range groups {
		if g.Unit == unit {
			return i
		}
	}
	return -1
}

// next takes the next round's groups off the waiting ones: as many as fit
// forwardBytes, a group of more than forwardRefs alerts split, the rest of
// it left first in line.
func (b *inbox) next() []activities.AlertGroup {
	var out []activities.AlertGroup
	size := 0
	for len(b.pending) > 0 {
		g := b.pending[0]
		n, gsize := 0, firstSize(g)
		for n < len(g.Refs) && n < forwardRefs {
			r := refBytes(g.Refs[n])
			if (len(out) > 0 || n > 0) && size+gsize+r > forwardBytes {
				break
			}
			gsize += r
			n++
		}
		if n == 0 {
			break
		}
		part := g
		part.Refs = g.Refs[:n:n]
		out = append(out, part)
		size += gsize
		if n < len(g.Refs) {
			b.pending[0].Refs = g.Refs[n:]
			break
		}
		b.pending = b.pending[1:]
	}
	return out
}

// bytes estimates the encoded size of what the inbox holds.
func (b *inbox) bytes() int {
	n := 0
	for _, gs := range [][]activities.AlertGroup{b.pending, b.held} {
		for _, g := range gs {
			n += firstSize(g)
			for _, r := range g.Refs {
				n += refBytes(r)
			}
		}
	}
	return n
}

// firstSize is the encoded size of a group's first alert and names.
func firstSize(g activities.AlertGroup) int {
	// encoding/json writes a map's keys sorted: its output is the same
	// on every replay.
	b, _ := json.Marshal(g.First) //workflowcheck:ignore
	return len(b) + len(g.Unit) + len(g.Playbook) + 64
}

// refBytes estimates an alert reference's encoded size.
func refBytes(r incident.AlertRef) int {
	return 200 + len(r.Rule) + len(r.Output) + len(r.Digest) + len(r.IdempotencyKey)
}
