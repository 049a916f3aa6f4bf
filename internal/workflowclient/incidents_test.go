package workflowclient

import (
	"errors"
	"testing"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
)

func TestWorkflowID(t *testing.T) {
	docker := alert.Alert{Digest: "sha256:0123456789abcdef0123", Target: alert.Target{Kind: alert.KindDocker, Host: "h", ContainerID: "ee97d9c4186f"}}
	if got, want := WorkflowID(docker), "docker-h-ee97d9c4186f"; got != want {
		t.Errorf("WorkflowID = %q, want %q", got, want)
	}
	noUnit := alert.Alert{Digest: "sha256:0123456789abcdef0123"}
	if got, want := WorkflowID(noUnit), "alert-0123456789abcdef"; got != want {
		t.Errorf("WorkflowID without unit = %q, want %q", got, want)
	}
	a, b := noUnit, noUnit
	a.IdempotencyKey, b.IdempotencyKey = "alertmanager/1/t/firing", "alertmanager/2/t/firing"
	if WorkflowID(a) == WorkflowID(b) || WorkflowID(a) == WorkflowID(noUnit) {
		t.Errorf("alerts of one webhook without a unit share a workflow: %s %s", WorkflowID(a), WorkflowID(b))
	}
}

func TestParseID(t *testing.T) {
	wf, run, err := ParseID("docker-h-ee97d9c4186f.0195c0de-1111-2222-3333-444455556666")
	if err != nil || wf != "docker-h-ee97d9c4186f" || run != "0195c0de-1111-2222-3333-444455556666" {
		t.Errorf("ParseID = %q %q %v", wf, run, err)
	}
	for _, bad := range []string{"", "nodot", ".run", "wf."} {
		if _, _, err := ParseID(bad); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("ParseID(%q) error = %v, want not found", bad, err)
		}
	}
}
