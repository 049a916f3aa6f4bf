package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/incident"
)

// forwarder records what an inbox forwards, failing the groups of the
// units in failOnce the first time it sees them.
type forwarder struct {
	mu       sync.Mutex
	failOnce map[string]bool
	got      map[string][]string // unit → digests, in the order forwarded
	rounds   [][]activities.AlertGroup
	requests []string
}

func (f *forwarder) Forward(_ context.Context, groups []activities.AlertGroup, request string) []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rounds = append(f.rounds, groups)
	f.requests = append(f.requests, request)
	errs := make([]error, len(groups))
	for i, g := range groups {
		if f.failOnce[g.Unit] {
			f.failOnce[g.Unit] = false
			errs[i] = errors.New("incident did not answer")
			continue
		}
		for _, r := range g.Refs {
			f.got[g.Unit] = append(f.got[g.Unit], r.Digest)
		}
	}
	return errs
}

func refs(unit string, from, n int) activities.AlertGroup {
	g := activities.AlertGroup{Unit: unit, Playbook: "contain"}
	g.First.Rule = "first of " + unit
	for i := from; i < from+n; i++ {
		g.Refs = append(g.Refs, incident.AlertRef{Rule: "r", Digest: fmt.Sprintf("%s-%d", unit, i)})
	}
	return g
}

// TestInboxForwardsEveryAlertOnce: an inbox passes each unit every alert
// it took, in order and once, joins a unit's alerts from several signals
// in one group, holds a group its incident did not take and sends it
// again without holding up the others, and continues as new carrying
// nothing lost.
func TestInboxForwardsEveryAlertOnce(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	f := &forwarder{failOnce: map[string]bool{"b": true}, got: map[string][]string{}}
	env.RegisterActivity(&activities.Intake{Forwarder: f})
	env.RegisterWorkflowWithOptions(AlertInbox, workflow.RegisterOptions{Name: InboxWorkflow})
	signals := [][]activities.AlertGroup{
		{refs("a", 0, 3), refs("b", 0, 2)},
		{refs("a", 3, 2), refs("c", 0, 1)},
		{refs("b", 2, 1)},
	}
	for i, s := range signals {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalInbox, s) }, time.Duration(i)*time.Millisecond)
	}
	// Later alerts for a, past b's first failure.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalInbox, []activities.AlertGroup{refs("a", 5, 1)}) }, time.Second)
	env.RegisterDelayedCallback(func() { env.SetCurrentHistoryLength(inboxRunEvents) }, heldRetry+5*time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalInbox, []activities.AlertGroup{refs("c", 1, 1)}) }, heldRetry+5*time.Second+time.Millisecond)
	env.ExecuteWorkflow(InboxWorkflow, Inbox{})

	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("inbox ended with %v; want it to continue as new", err)
	}
	want := map[string][]string{
		"a": {"a-0", "a-1", "a-2", "a-3", "a-4", "a-5"},
		"b": {"b-0", "b-1", "b-2"},
		"c": {"c-0", "c-1"},
	}
	var carried Inbox
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &carried); err != nil {
		t.Fatal(err)
	}
	for _, g := range carried.Pending {
		for _, r := range g.Refs {
			f.got[g.Unit] = append(f.got[g.Unit], r.Digest)
		}
	}
	if len(carried.Held) != 0 {
		t.Errorf("carried %d held groups; want none", len(carried.Held))
	}
	for unit, w := range want {
		if got := strings.Join(f.got[unit], ","); got != strings.Join(w, ",") {
			t.Errorf("unit %s: forwarded or carried %s; want %s", unit, got, strings.Join(w, ","))
		}
	}
	seen := map[string]bool{}
	for _, r := range f.requests {
		if seen[r] {
			t.Errorf("request %s used by two rounds", r)
		}
		seen[r] = true
	}
	for _, round := range f.rounds {
		units := map[string]bool{}
		for _, g := range round {
			if units[g.Unit] {
				t.Errorf("a round sends unit %s twice: %+v", g.Unit, round)
			}
			units[g.Unit] = true
			if g.First.Rule != "first of "+g.Unit || g.Playbook != "contain" {
				t.Errorf("group of %s lost its first alert or playbook: %+v", g.Unit, g)
			}
		}
	}
}

// TestInboxRoundsAreBounded: a round takes at most forwardRefs alerts of a
// group and forwardBytes in all, leaving the rest first in line.
func TestInboxRoundsAreBounded(t *testing.T) {
	b := inbox{}
	b.add([]activities.AlertGroup{refs("a", 0, forwardRefs+100), refs("b", 0, 10)})
	var sizes []int
	for len(b.pending) > 0 {
		round := b.next()
		n := 0
		for _, g := range round {
			n += len(g.Refs)
			if len(g.Refs) > forwardRefs {
				t.Fatalf("group of %d alerts; want at most %d", len(g.Refs), forwardRefs)
			}
		}
		sizes = append(sizes, n)
	}
	if got, want := fmt.Sprint(sizes), fmt.Sprint([]int{forwardRefs, 110}); got != want {
		t.Errorf("rounds of %s alerts; want %s", got, want)
	}

	big := refs("c", 0, 3)
	for i := range big.Refs {
		big.Refs[i].Output = strings.Repeat("x", 400<<10)
	}
	b.add([]activities.AlertGroup{big})
	if round := b.next(); len(round) != 1 || len(round[0].Refs) != 2 {
		t.Errorf("first round of 400 KiB alerts: %d alerts; want 2 (1 MiB bound)", len(round[0].Refs))
	}
}

// TestInboxHoldsAUnitInOrder: a unit held keeps the alerts waiting behind
// its failed group, and later ones, behind it.
func TestInboxHoldsAUnitInOrder(t *testing.T) {
	b := inbox{}
	b.add([]activities.AlertGroup{refs("a", 0, 2), refs("b", 0, 1)})
	round := b.next()
	b.add([]activities.AlertGroup{refs("a", 2, 1)})
	b.hold(round[0])
	b.add([]activities.AlertGroup{refs("a", 3, 1)})
	if len(b.pending) != 0 || len(b.held) != 1 {
		t.Fatalf("pending %+v, held %+v; want only a held", b.pending, b.held)
	}
	var got []string
	for _, r := range b.held[0].Refs {
		got = append(got, r.Digest)
	}
	if s := strings.Join(got, ","); s != "a-0,a-1,a-2,a-3" {
		t.Errorf("held %s; want a-0,a-1,a-2,a-3", s)
	}
}

// TestInboxCarriesLittleIntoItsNextRun: an inbox whose history is long
// but holds more than carryBytes forwards first and continues as new with
// a payload Temporal takes, losing nothing.
func TestInboxCarriesLittleIntoItsNextRun(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	f := &forwarder{failOnce: map[string]bool{}, got: map[string][]string{}}
	env.RegisterActivity(&activities.Intake{Forwarder: f})
	env.RegisterWorkflowWithOptions(AlertInbox, workflow.RegisterOptions{Name: InboxWorkflow})
	big := refs("a", 0, 60)
	for i := range big.Refs {
		big.Refs[i].Output = strings.Repeat("x", 64<<10) // 3.75 MiB in all
	}
	env.RegisterDelayedCallback(func() {
		env.SetCurrentHistoryLength(inboxRunEvents)
		env.SignalWorkflow(SignalInbox, []activities.AlertGroup{big})
	}, time.Millisecond)
	env.ExecuteWorkflow(InboxWorkflow, Inbox{})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("inbox ended with %v; want it to continue as new", err)
	}
	if size := can.Input.Size(); size > 2<<20 {
		t.Errorf("continues as new with %d bytes; Temporal refuses more than 2 MiB", size)
	}
	var carried Inbox
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &carried); err != nil {
		t.Fatal(err)
	}
	n := len(f.got["a"])
	for _, g := range carried.Pending {
		n += len(g.Refs)
	}
	if n != len(big.Refs) || len(f.got["a"]) == 0 {
		t.Errorf("forwarded %d and carried %d of %d alerts", len(f.got["a"]), n-len(f.got["a"]), len(big.Refs))
	}
}
