package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// fakePlanner plans by rule: a rule it does not know is unmatched.
type fakePlanner struct {
	got      []alert.Alert
	playbook []byte
}

func (f *fakePlanner) Plan(_ context.Context, a alert.Alert, playbookYAML []byte) (playbooks.Plan, error) {
	f.got = append(f.got, a)
	f.playbook = playbookYAML
	if a.Rule != "Terminal shell in container" {
		return playbooks.Plan{}, fmt.Errorf("rule %q: %w", a.Rule, incident.ErrUnmatched)
	}
	return playbooks.Plan{Playbook: "shell", Rule: a.Rule, Priority: a.Priority, Target: a.Target}, nil
}

func TestPlan(t *testing.T) {
	p := &fakePlanner{}
	srv := serveWith(t, Options{Incidents: &fakeIncidents{}, Planner: p})
	code, body := call(t, srv, "POST", "/v1/plan", "", `{"alert":`+alertBody+`,"playbook":"name: x"}`)
	if code != http.StatusOK {
		t.Fatalf("plan: %d %s", code, body)
	}
	var plan playbooks.Plan
	if err := json.Unmarshal([]byte(body), &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Playbook != "shell" || plan.Target.ContainerID != "abcdefabcdef" {
		t.Errorf("plan = %+v, want playbook shell on container abcdefabcdef", plan)
	}
	if string(p.playbook) != "name: x" {
		t.Errorf("planner got playbook %q, want the request's", p.playbook)
	}

	refusals := []struct {
		name, body string
		code       int
	}{
		{"unmatched", `{"alert":` + strings.Replace(alertBody, "Terminal shell", "Other", 1) + `}`, http.StatusUnprocessableEntity},
		{"unknown source", `{"source":"nagios","alert":` + alertBody + `}`, http.StatusBadRequest},
		{"no alert", `{"source":"falco"}`, http.StatusBadRequest},
		{"unknown field", `{"alert":` + alertBody + `,"run":true}`, http.StatusBadRequest},
		{"bad alert", `{"alert":{"rule":""}}`, http.StatusBadRequest},
		{"too big", `{"alert":` + alertBody + `,"playbook":"` + strings.Repeat("x", maxPlanBytes) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, r := range refusals {
		if code, body := call(t, srv, "POST", "/v1/plan", "", r.body); code != r.code {
			t.Errorf("%s: %d %s, want %d", r.name, code, body, r.code)
		}
	}

	// A quell without a planner says so.
	bare := serveWith(t, Options{Incidents: &fakeIncidents{}})
	if code, body := call(t, bare, "POST", "/v1/plan", "", `{"alert":`+alertBody+`}`); code != http.StatusNotImplemented {
		t.Errorf("no planner: %d %s, want 501", code, body)
	}
}
