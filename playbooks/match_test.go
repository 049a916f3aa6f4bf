package playbooks

import (
	"encoding/json"
	"testing"

	"github.com/quell-ir/quell/internal/alert"
)

// shellAlert is a Falco alert about a shell in a Docker container.
func shellAlert() alert.Alert {
	return alert.Alert{
		Source:   "falco",
		Rule:     "Terminal shell in container",
		Priority: alert.Warning,
		Tags:     []string{"container", "shell", "mitre_execution"},
		Fields: map[string]any{
			"container.id": "4f1c2a9b7d3e", "proc.cmdline": "bash -i", "user.name": "",
			"k8s.ns.name": "<NA>", "proc.pid": json.Number("4242"),
		},
		Target: alert.Target{Kind: "docker", ContainerID: "4f1c2a9b7d3e", Image: "nginx:1.27"},
	}
}

func TestMatches(t *testing.T) {
	base := Match{Source: "falco"}
	with := func(f func(*Match)) Match { m := base; f(&m); return m }
	tests := []struct {
		name  string
		match Match
		alert func(*alert.Alert)
		want  bool
	}{
		{"source", base, nil, true},
		{"other source", with(func(m *Match) { m.Source = "trivy" }), nil, false},
		{"target docker", with(func(m *Match) { m.Target = "docker" }), nil, true},
		{"target kubernetes", with(func(m *Match) { m.Target = "kubernetes" }), nil, false},
		{"target docker, alert names no unit", with(func(m *Match) { m.Target = "docker" }),
			func(a *alert.Alert) { a.Target = alert.Target{} }, false},
		{"any target, alert names no unit", base, func(a *alert.Alert) { a.Target = alert.Target{} }, true},
		{"min_priority equal", with(func(m *Match) { m.MinPriority = alert.Warning }), nil, true},
		{"min_priority one above", with(func(m *Match) { m.MinPriority = alert.Error }), nil, false},
		{"min_priority below", with(func(m *Match) { m.MinPriority = alert.Notice }), nil, true},
		{"rule exact", with(func(m *Match) { m.Rules = []string{"Other", "Terminal shell in container"} }), nil, true},
		{"rule exact, other case", with(func(m *Match) { m.Rules = []string{"terminal shell in container"} }), nil, false},
		{"rule glob", with(func(m *Match) { m.Rules = []string{"Terminal shell*"} }), nil, true},
		{"rule glob miss", with(func(m *Match) { m.Rules = []string{"*in host"} }), nil, false},
		{"rule star crosses slash", with(func(m *Match) { m.Rules = []string{"*"} }),
			func(a *alert.Alert) { a.Rule = "Write below /etc" }, true},
		{"rule exact with glob characters", with(func(m *Match) { m.Rules = []string{"Drift [new]"} }),
			func(a *alert.Alert) { a.Rule = "Drift [new]" }, true},
		{"rule regex", with(func(m *Match) { m.Rules = []string{"regex:(?i)^terminal shell"} }), nil, true},
		{"rule regex unanchored", with(func(m *Match) { m.Rules = []string{"regex:shell in"} }), nil, true},
		{"rule regex miss", with(func(m *Match) { m.Rules = []string{"regex:^shell"} }), nil, false},
		{"tags all present", with(func(m *Match) { m.Tags = []string{"shell", "container"} }), nil, true},
		{"tag missing", with(func(m *Match) { m.Tags = []string{"shell", "network"} }), nil, false},
		{"field present", with(func(m *Match) { m.RequiredFields = []string{"container.id", "proc.cmdline", "proc.pid"} }), nil, true},
		{"field absent", with(func(m *Match) { m.RequiredFields = []string{"fd.name"} }), nil, false},
		{"field empty", with(func(m *Match) { m.RequiredFields = []string{"user.name"} }), nil, false},
		{"field <NA>", with(func(m *Match) { m.RequiredFields = []string{"k8s.ns.name"} }), nil, false},
		{"target field present", with(func(m *Match) { m.RequiredFields = []string{"target.container_id", "target.image"} }), nil, true},
		{"target field empty", with(func(m *Match) { m.RequiredFields = []string{"target.pod"} }), nil, false},
		{"all criteria", Match{Source: "falco", Target: "docker", MinPriority: alert.Warning,
			Rules: []string{"regex:shell"}, Tags: []string{"shell"}, RequiredFields: []string{"target.container_id"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := shellAlert()
			if tt.alert != nil {
				tt.alert(&a)
			}
			if got := tt.match.Matches(a); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	pbs := []Playbook{
		{Name: "kubernetes", Match: Match{Source: "falco", Target: "kubernetes"}},
		{Name: "critical", Match: Match{Source: "falco", MinPriority: alert.Critical}},
		{Name: "shell", Match: Match{Source: "falco", Rules: []string{"Terminal shell*"}}},
		{Name: "any", Match: Match{Source: "falco"}},
	}
	a := shellAlert()
	if got, ok := Select(pbs, a); !ok || got.Name != "shell" {
		t.Errorf("Select = %q, %v; want shell", got.Name, ok)
	}
	a.Priority = alert.Emergency
	if got, ok := Select(pbs, a); !ok || got.Name != "critical" {
		t.Errorf("Select at emergency = %q, %v; want critical", got.Name, ok)
	}
	a.Source = "trivy"
	if got, ok := Select(pbs, a); ok {
		t.Errorf("Select of a trivy alert = %q, want no match", got.Name)
	}
}
