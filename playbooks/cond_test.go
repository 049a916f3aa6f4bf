package playbooks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/alert"
)

func TestConditionTypoNamesStepAndPosition(t *testing.T) {
	for _, tc := range []struct{ name, when, want string }{
		{"undeclared variable", `alrt.priority == "emergency"`,
			`pb.yaml:4: step "contain" (docker:isolate): when "alrt.priority == \"emergency\"": 1:1: undeclared reference to 'alrt'`},
		{"unknown field", `alert.prioritty == "emergency"`,
			`pb.yaml:4: step "contain" (docker:isolate): when "alert.prioritty == \"emergency\"": 1:6: undefined field 'prioritty'`},
		{"syntax", `alert.priority == `,
			`pb.yaml:4: step "contain" (docker:isolate): when "alert.priority == ": 1:19: Syntax error: mismatched input '<EOF>'`},
		{"not a bool", `alert.rule`,
			`pb.yaml:4: step "contain" (docker:isolate): when "alert.rule": evaluates to string, want bool`},
		{"wrong type", `alert.priority_level == "7"`,
			`pb.yaml:4: step "contain" (docker:isolate): when "alert.priority_level == \"7\"": 1:22: found no matching overload for '_==_'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := fmt.Sprintf("name: pb\nmatch: {source: falco}\nsteps:\n  - id: contain\n    kind: docker:isolate\n    when: %q\n", tc.when)
			_, err := Parse("pb.yaml", []byte(doc), testRegistry(t))
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			if got := err.Error(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("got  %s\nwant %s...", got, tc.want)
			}
		})
	}
}

func TestMatchConditionTypo(t *testing.T) {
	doc := "name: pb\nmatch:\n  source: falco\n  when: 'alert.tag.exists(t, t == \"shell\")'\nsteps: [{id: r, kind: report:write}]\n"
	_, err := Parse("pb.yaml", []byte(doc), testRegistry(t))
	want := `pb.yaml:2: match: when "alert.tag.exists(t, t == \"shell\")": 1:6: undefined field 'tag'`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want %s...", err, want)
	}
}

func TestEvalCondition(t *testing.T) {
	a := alert.Alert{
		Source: "falco", Rule: "Terminal shell in container", Priority: alert.Critical, Tags: []string{"shell", "mitre_execution"},
		Fields: map[string]any{"proc.name": "bash", "evt.num": 42.0},
		Target: alert.Target{Kind: alert.KindDocker, ContainerID: "abc123abc123", ContainerName: "web"},
	}
	steps := map[string]StepFacts{"preserve": {Kind: "evidence:snapshot", Status: "succeeded", Summary: "9 artifacts"}}
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{`alert.priority == "critical"`, true},
		{`alert.priority_level >= 7`, false},
		{`"shell" in alert.tags && alert.fields["proc.name"] == "bash"`, true},
		{`"user.name" in alert.fields`, false},
		{`alert.fields["evt.num"] == "42" && int(alert.fields["evt.num"]) > 40`, true},
		{`target.container_name.startsWith("we")`, true},
		{`steps.preserve.status == "succeeded" && steps.preserve.summary.contains("artifacts")`, true},
		{`alert.vulnerabilities.counts.size() == 0`, true},
	} {
		got, err := EvalCondition(tc.expr, Facts{Alert: a, Steps: steps})
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: got %t, want %t", tc.expr, got, tc.want)
		}
	}
	// A key the alert lacks is an error, not false: conditions guard with `in`.
	_, err := EvalCondition(`alert.fields["user.name"] == "root"`, Facts{Alert: a})
	if err == nil || !strings.Contains(err.Error(), "no such key") {
		t.Errorf("missing key: got %v, want a no such key error", err)
	}
}

func TestMatchWhen(t *testing.T) {
	m := Match{Source: "falco", When: `alert.priority_level >= 7 || "shell" in alert.tags`}
	if msgs := m.problems(); len(msgs) > 0 {
		t.Fatal(msgs)
	}
	for _, tc := range []struct {
		a    alert.Alert
		want bool
	}{
		{alert.Alert{Source: "falco", Priority: alert.Emergency}, true},
		{alert.Alert{Source: "falco", Priority: alert.Warning, Tags: []string{"shell"}}, true},
		{alert.Alert{Source: "falco", Priority: alert.Warning}, false},
		{alert.Alert{Source: "trivy", Priority: alert.Emergency}, false},
	} {
		if got := m.Matches(tc.a); got != tc.want {
			t.Errorf("Matches(%s, %v): got %t, want %t", tc.a.Priority, tc.a.Tags, got, tc.want)
		}
	}
	// A condition that errors on this alert does not match it.
	m.When = `alert.fields["user.name"] == "root"`
	if m.Matches(alert.Alert{Source: "falco"}) {
		t.Error("an erroring condition matched")
	}
}
