package workflows

import (
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/incident"
)

const conditional = `
name: conditional
match: {source: falco}
steps:
  - id: contain
    kind: docker:isolate
  - id: preserve
    kind: evidence:snapshot
    when: 'steps.contain.status == "succeeded" && target.container_name == "victim"'
  - id: approve
    kind: approval
    when: 'alert.priority != "critical"'
    timeout: 1h
  - id: verify
    kind: evidence:verify
    when: '"shell" in alert.tags'
  - id: report
    kind: report:write
`

func TestConditionsSkipSteps(t *testing.T) {
	f := newFixture(t)
	f.isolates().Once()
	f.snapshots().Once()
	f.reports().Once()
	// No decision is sent and verify is not mocked: approval and verify
	// must be skipped by their conditions or the test fails.
	inc := f.run(playbook(t, conditional))
	check(t, "steps", statuses(inc), "contain=succeeded preserve=succeeded approve=skipped verify=skipped report=succeeded")
	var skipped []string
	for _, e := range inc.Timeline {
		if e.Type == "step.skipped" {
			skipped = append(skipped, e.Step+": "+e.Message)
		}
	}
	check(t, "skipped events", strings.Join(skipped, "\n"),
		`approve: condition alert.priority != "critical" does not hold`+"\n"+
			`verify: condition "shell" in alert.tags does not hold`)
	f.env.AssertExpectations(t)
}

func TestConditionErrorFailsStep(t *testing.T) {
	f := newFixture(t)
	f.isolates().Once()
	f.reports().Once()
	pb := playbook(t, `
name: erring
match: {source: falco}
steps:
  - id: contain
    kind: docker:isolate
  - id: preserve
    kind: evidence:snapshot
    when: 'alert.fields["user.name"] == "root"'
  - id: report
    kind: report:write
`)
	inc := f.run(pb)
	check(t, "steps", statuses(inc), "contain=succeeded preserve=failed report=succeeded")
	st, _ := inc.Step("preserve")
	if !strings.Contains(st.Error, `condition "alert.fields[\"user.name\"] == \"root\"": no such key: user.name`) {
		t.Errorf("error = %q, want the condition's no such key", st.Error)
	}
	if inc.Status != incident.StatusFailed {
		t.Errorf("status = %s, want failed (the step aborts)", inc.Status)
	}
}
