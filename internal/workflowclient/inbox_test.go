package workflowclient

import (
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

func TestOpenRunsTrustOnlyRecently(t *testing.T) {
	var o openRuns
	now := time.Now()
	if _, ok := o.recent("u", now); ok {
		t.Fatal("a unit never seen is open")
	}
	o.saw("u", "run-1", now)
	if run, ok := o.recent("u", now.Add(inboxTrust-time.Millisecond)); !ok || run != "run-1" {
		t.Errorf("recent = %q, %v; want run-1 within inboxTrust", run, ok)
	}
	if _, ok := o.recent("u", now.Add(inboxTrust)); ok {
		t.Error("still trusted at inboxTrust: the unit's next alert must go to its incident")
	}
}

func TestGroupByUnitKeepsOrderAndFirstAlert(t *testing.T) {
	item := func(unit, rule string) boxed {
		a := alert.Alert{Rule: rule, Digest: unit + rule}
		return boxed{unit: unit, queued: queued{alert: a, playbook: playbooks.Playbook{Name: "pb-" + unit}, ref: incident.RefOf(a)}}
	}
	groups := groupByUnit([]boxed{item("a", "1"), item("b", "1"), item("a", "2"), item("c", "1"), item("b", "2")})
	var got []string
	for _, g := range groups {
		s := g.Unit + ":" + g.Playbook + ":" + g.First.Rule + ":"
		for _, r := range g.Refs {
			s += r.Rule
		}
		got = append(got, s)
	}
	want := []string{"a:pb-a:1:12", "b:pb-b:1:12", "c:pb-c:1:1"}
	if len(got) != len(want) {
		t.Fatalf("groups %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("group %d = %s; want %s", i, got[i], want[i])
		}
	}
}
