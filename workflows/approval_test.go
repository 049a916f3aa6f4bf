package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/quell-ir/quell/internal/incident"
)

// gatedWith is a contain-then-approve playbook whose gate takes with.
func gatedWith(t *testing.T, with string) string {
	return `
name: gate
match: {source: falco}
steps:
  - {id: contain, kind: docker:isolate}
  - {id: approve, kind: approval, timeout: 4h, with: ` + with + `}
  - {id: second, kind: approval, timeout: 4h, with: ` + with + `}
`
}

func timeline(inc incident.Incident, prefix string) []string {
	var out []string
	for _, e := range inc.Timeline {
		if strings.HasPrefix(e.Type, prefix) {
			out = append(out, e.Time.Sub(inc.Timeline[0].Time).Round(time.Minute).String()+" "+e.Type+" "+e.Step)
		}
	}
	return out
}

func refusedAs(t *testing.T, got *[]string) func(error) {
	return func(err error) {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			*got = append(*got, app.Message())
		} else {
			t.Errorf("refusal %v", err)
		}
	}
}

func TestApprovalNeedsTwoOfThree(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	var refused []string
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "alice"}, nil)
	f.decide(2*time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "alice"}, refusedAs(t, &refused))
	f.decide(3*time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "bob"}, nil)
	f.decide(4*time.Minute, incident.DecisionRequest{Step: "second", Decision: incident.Approve, Approver: "carol"}, nil)
	f.decide(5*time.Minute, incident.DecisionRequest{Step: "second", Decision: incident.Approve, Approver: "alice"}, nil)
	inc := f.run(playbook(t, gatedWith(t, "{approvers: [alice, bob, carol], required: 2}")))

	check(t, "refused", strings.Join(refused, "; "), `approver "alice" already approved step "approve"`)
	check(t, "first gate", inc.Steps[1].Summary, "approved by alice, bob")
	check(t, "second gate", inc.Steps[2].Summary, "approved by carol, alice")
}

func TestTwoPersonRule(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	var refused []string
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "alice"}, nil)
	f.decide(2*time.Minute, incident.DecisionRequest{Step: "second", Decision: incident.Approve, Approver: "alice"}, refusedAs(t, &refused))
	f.decide(3*time.Minute, incident.DecisionRequest{Step: "second", Decision: incident.Approve, Approver: "bob"}, nil)
	inc := f.run(playbook(t, gatedWith(t, "{approvers: [alice, bob], two_person: true}")))

	check(t, "refused", strings.Join(refused, "; "), `approver "alice" approved gate "approve": the two-person rule needs someone else`)
	check(t, "second gate", inc.Steps[2].Summary, "approved by bob")
}

// TestTwoPersonRuleAfterTwoApprovers: alice and bob both approve the first
// gate; under the two-person rule neither may approve the second, whoever
// approved last.
func TestTwoPersonRuleAfterTwoApprovers(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	var refused []string
	pb := playbook(t, `
name: gate
match: {source: falco}
steps:
  - {id: contain, kind: docker:isolate}
  - {id: approve, kind: approval, timeout: 4h, with: {approvers: [alice, bob, carol], required: 2}}
  - {id: second, kind: approval, timeout: 4h, with: {approvers: [alice, bob, carol], two_person: true}}
`)
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "alice"}, nil)
	f.decide(2*time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "bob"}, nil)
	f.decide(3*time.Minute, incident.DecisionRequest{Step: "second", Decision: incident.Approve, Approver: "alice"}, refusedAs(t, &refused))
	f.decide(4*time.Minute, incident.DecisionRequest{Step: "second", Decision: incident.Approve, Approver: "bob"}, refusedAs(t, &refused))
	f.decide(5*time.Minute, incident.DecisionRequest{Step: "second", Decision: incident.Approve, Approver: "carol"}, nil)
	inc := f.run(pb)

	check(t, "refused", strings.Join(refused, "; "), `approver "alice" approved gate "approve": the two-person rule needs someone else; `+
		`approver "bob" approved gate "approve": the two-person rule needs someone else`)
	check(t, "second gate", inc.Steps[2].Summary, "approved by carol")
}

// TestTwoPersonRuleExcludesWhoOpened: the principal whose alert opened the
// incident may not approve a two-person gate.
func TestTwoPersonRuleExcludesWhoOpened(t *testing.T) {
	f := newFixture(t)
	f.isolates()
	var refused []string
	f.decide(time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "mallory"}, refusedAs(t, &refused))
	f.decide(2*time.Minute, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "bob"}, nil)
	f.decide(3*time.Minute, incident.DecisionRequest{Step: "second", Decision: incident.Approve, Approver: "alice"}, nil)
	f.opener = "mallory"
	inc := f.run(playbook(t, gatedWith(t, "{approvers: [alice, bob, mallory], two_person: true}")))

	check(t, "refused", strings.Join(refused, "; "), `approver "mallory" posted the alert that opened the incident: the two-person rule needs someone else`)
	check(t, "first gate", inc.Steps[1].Summary, "approved by bob")
}

func TestApprovalRemindsEscalatesThenDefaults(t *testing.T) {
	cases := []struct {
		onTimeout string
		decide    bool
		steps     string
		timeline  string
	}{
		{"reject", false, "contain=succeeded approve=failed second=skipped",
			"0s approval.requested approve|30m0s approval.reminder approve|1h0m0s approval.escalation approve"},
		{"approve", false, "contain=succeeded approve=succeeded second=succeeded",
			"0s approval.requested approve|30m0s approval.reminder approve|1h0m0s approval.escalation approve|4h0m0s approval.defaulted approve|" +
				"4h0m0s approval.requested second|4h30m0s approval.reminder second|5h0m0s approval.escalation second|8h0m0s approval.defaulted second"},
		{"wait", true, "contain=succeeded approve=succeeded second=failed",
			"0s approval.requested approve|30m0s approval.reminder approve|1h0m0s approval.escalation approve|4h0m0s approval.waiting approve|" +
				"10h0m0s approval.requested second|10h30m0s approval.reminder second|11h0m0s approval.escalation second|14h0m0s approval.waiting second"},
	}
	for _, tc := range cases {
		t.Run(tc.onTimeout, func(t *testing.T) {
			f := newFixture(t)
			f.isolates()
			if tc.decide {
				f.decide(10*time.Hour, incident.DecisionRequest{Step: "approve", Decision: incident.Approve, Approver: "alice"}, nil)
				f.decide(15*time.Hour, incident.DecisionRequest{Step: "second", Decision: incident.Reject, Approver: "alice"}, nil)
			}
			inc := f.run(playbook(t, gatedWith(t, "{approvers: [alice], remind_after: 30m, escalate_after: 1h, escalate_to: [S0SECOPS], on_timeout: "+tc.onTimeout+"}")))
			check(t, "steps", statuses(inc), tc.steps)
			check(t, "timeline", strings.Join(timeline(inc, "approval."), "|"), tc.timeline)
		})
	}
}
