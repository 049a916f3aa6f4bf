package playbooks

import (
	"encoding/json"
	"reflect"
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

// scanAlert is a Trivy alert whose scan summary has the shape of the
// debian-buster sample: one critical finding with a fixed version and one
// low finding without.
func scanAlert() alert.Alert {
	return alert.Alert{
		Source:   "trivy",
		Rule:     "vulnerable-image",
		Priority: alert.Critical,
		Target:   alert.Target{Kind: alert.KindImage, ImageID: "sha256:c2c03a296d23"},
		Vulnerabilities: &alert.Vulnerabilities{
			Counts:  map[string]int{"unknown": 0, "low": 1, "medium": 0, "high": 0, "critical": 1},
			Fixable: map[string]int{"unknown": 0, "low": 0, "medium": 0, "high": 0, "critical": 1},
		},
	}
}

func TestMatchesFindings(t *testing.T) {
	base := Match{Source: "trivy"}
	with := func(f func(*Match)) Match { m := base; f(&m); return m }
	severity := func(s string, n int, fixable bool) Match {
		return with(func(m *Match) { m.MinSeverity, m.MinCount, m.Fixable = s, n, fixable })
	}
	counts := func(c map[string]int) func(*alert.Alert) {
		return func(a *alert.Alert) { a.Vulnerabilities = &alert.Vulnerabilities{Counts: c, Fixable: c} }
	}
	tests := []struct {
		name  string
		match Match
		alert func(*alert.Alert)
		want  bool
	}{
		{"no criteria on findings", base, nil, true},
		{"no criteria, no scan summary", base, func(a *alert.Alert) { a.Vulnerabilities = nil }, true},
		{"critical, one present", severity("critical", 0, false), nil, true},
		{"critical, min_count 1", severity("critical", 1, false), nil, true},
		{"critical, min_count 2, one present", severity("critical", 2, false), nil, false},
		{"high counts critical", severity("high", 0, false), nil, true},
		{"medium, min_count 2, only the critical counts", severity("medium", 2, false), nil, false},
		{"low, min_count 2", severity("low", 2, false), nil, true},
		{"low, min_count 3", severity("low", 3, false), nil, false},
		{"unknown counts every severity", severity("unknown", 2, false), nil, true},
		{"min_count alone, 2 of any severity", severity("", 2, false), nil, true},
		{"min_count alone, 3 of any severity", severity("", 3, false), nil, false},
		{"fixable alone", severity("", 0, true), nil, true},
		{"fixable, low, min_count 1", severity("low", 1, true), nil, true},
		{"fixable, low, min_count 2: the low finding has no fix", severity("low", 2, true), nil, false},
		{"fixable, critical", severity("critical", 0, true), nil, true},
		{"fixable, high, nothing fixable", severity("high", 0, true),
			func(a *alert.Alert) { a.Vulnerabilities.Fixable = map[string]int{"critical": 0} }, false},
		{"critical, min_count 2, two present", severity("critical", 2, false),
			counts(map[string]int{"critical": 2}), true},
		{"min_count 0 still needs one finding", severity("critical", 0, false),
			counts(map[string]int{"high": 5}), false},
		{"empty summary", severity("", 0, true), counts(nil), false},
		{"no scan summary", severity("low", 0, false), func(a *alert.Alert) { a.Vulnerabilities = nil }, false},
		{"unknown ranks below low", severity("low", 0, false), counts(map[string]int{"unknown": 4}), false},
		{"unrecognised severity counts as unknown", severity("unknown", 4, false),
			counts(map[string]int{"negligible": 3, "unknown": 1}), true},
		{"unrecognised severity is not low", severity("low", 0, false), counts(map[string]int{"negligible": 3}), false},
		{"negative counts are ignored", severity("", 1, false), counts(map[string]int{"low": -2, "high": 1}), true},
		{"with the other criteria", Match{Source: "trivy", Target: alert.KindImage, MinPriority: alert.Error,
			Rules: []string{"vulnerable-image"}, MinSeverity: "high", MinCount: 1, Fixable: true}, nil, true},
		{"falco alert, min_severity set", Match{Source: "falco", MinSeverity: "low"},
			func(a *alert.Alert) { *a = shellAlert() }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := scanAlert()
			if tt.alert != nil {
				tt.alert(&a)
			}
			if got := tt.match.Matches(a); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseMatchFindings(t *testing.T) {
	src := "name: x\nmatch:\n  source: trivy\n  target: image\n  min_severity: high\n  min_count: 3\n  fixable: true\n" +
		"steps: [{id: a, kind: report:write}]\n"
	p, err := Parse("pb.yaml", []byte(src), testRegistry(t))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Match{Source: "trivy", Target: "image", MinSeverity: "high", MinCount: 3, Fixable: true}
	if !reflect.DeepEqual(p.Match, want) {
		t.Errorf("Match = %+v, want %+v", p.Match, want)
	}
	b, err := json.Marshal(p.Match)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if got, want := string(b), `{"source":"trivy","target":"image","min_priority":"debug","min_severity":"high","min_count":3,"fixable":true}`; got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
	var back Match
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("json.Unmarshal: %v", err)
	}
	if !reflect.DeepEqual(back, p.Match) {
		t.Errorf("JSON round trip = %+v, want %+v", back, p.Match)
	}
}

func TestValidateMatchFindings(t *testing.T) {
	tests := []struct {
		name, match, want string
	}{
		{"unknown severity", "{source: trivy, min_severity: urgent}",
			`pb.yaml:2: match: min_severity "urgent": want one of unknown, low, medium, high, critical`},
		{"severity is lower-case", "{source: trivy, min_severity: HIGH}",
			`pb.yaml:2: match: min_severity "HIGH": want one of unknown, low, medium, high, critical`},
		{"negative count", "{source: trivy, min_count: -1}", `pb.yaml:2: match: min_count -1 is negative`},
		{"both", "{source: trivy, min_severity: severe, min_count: -2, fixable: true}",
			"pb.yaml:2: match: min_severity \"severe\": want one of unknown, low, medium, high, critical\npb.yaml:2: match: min_count -2 is negative"},
		{"count not a number", "{source: trivy, min_count: lots}", "pb.yaml:2: cannot unmarshal !!str `lots` into int"},
		{"fixable not a bool", "{source: trivy, fixable: maybe}", "pb.yaml:2: cannot unmarshal !!str `maybe` into bool"},
		{"severity a list", "{source: trivy, min_severity: [high]}", "pb.yaml:2: cannot unmarshal !!seq into string"},
		{"misspelt key", "{source: trivy, min_severities: high}", `pb.yaml:2: unknown field "min_severities" in match`},
		{"unknown target", "{source: trivy, target: images}", `pb.yaml:2: match: target "images" unknown (want docker, kubernetes or image)`},
	}
	reg := testRegistry(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "name: x\nmatch: " + tt.match + "\nsteps: [{id: a, kind: report:write}]\n"
			_, err := Parse("pb.yaml", []byte(src), reg)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

// amAlert is an Alertmanager alert about a pod.
func amAlert() alert.Alert {
	return alert.Alert{
		Source:   "alertmanager",
		Rule:     "KubePodCrashLooping",
		Priority: alert.Warning,
		Labels:   map[string]string{"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop", "team": "payments-eu", "empty": ""},
		Target:   alert.Target{Kind: alert.KindKubernetes, Namespace: "shop", Pod: "web-0"},
	}
}

func TestMatchesLabels(t *testing.T) {
	labels := func(kv ...string) Match {
		m := Match{Source: "alertmanager", Labels: map[string]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			m.Labels[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name  string
		match Match
		want  bool
	}{
		{"no label matchers", Match{Source: "alertmanager"}, true},
		{"exact", labels("severity", "warning"), true},
		{"exact, other value", labels("severity", "critical"), false},
		{"exact is case-sensitive", labels("severity", "Warning"), false},
		{"glob", labels("team", "payments-*"), true},
		{"glob miss", labels("team", "*-us"), false},
		{"star needs the label", labels("cluster", "*"), false},
		{"star, label present", labels("team", "*"), true},
		{"empty label matches nothing", labels("empty", "*"), false},
		{"regex", labels("team", "regex:^payments-(eu|us)$"), true},
		{"regex unanchored", labels("team", "regex:ments"), true},
		{"regex miss", labels("severity", "regex:^crit"), false},
		{"all must hold", labels("severity", "warning", "namespace", "shop"), true},
		{"one fails", labels("severity", "warning", "namespace", "kube-system"), false},
		{"with the other criteria", Match{Source: "alertmanager", Target: alert.KindKubernetes, MinPriority: alert.Warning,
			Rules: []string{"KubePod*"}, RequiredFields: []string{"target.pod"}, Labels: map[string]string{"severity": "warning"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.match.Matches(amAlert()); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
	noLabels := shellAlert()
	if (Match{Source: "falco", Labels: map[string]string{"severity": "*"}}).Matches(noLabels) {
		t.Error("a label matcher matched an alert without labels")
	}
}

// TestMatchLabelsJSON checks that label matchers survive the JSON the
// incident workflow receives its playbook as.
func TestMatchLabelsJSON(t *testing.T) {
	m := Match{Source: "alertmanager", Labels: map[string]string{"severity": "critical", "team": "regex:^pay"}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if got, want := string(b), `{"source":"alertmanager","min_priority":"debug","labels":{"severity":"critical","team":"regex:^pay"}}`; got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
	var back Match
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, m) {
		t.Errorf("JSON round trip = %+v, %v; want %+v", back, err, m)
	}
}

func TestValidateMatchLabels(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"valid", map[string]string{"severity": "critical", "team": "payments-*", "env": "regex:^prod"}, ""},
		{"bad regex", map[string]string{"severity": "regex:(crit"},
			"match: label \"severity\": pattern \"regex:(crit\": error parsing regexp: missing closing ): `(crit`"},
		{"bad glob", map[string]string{"team": "[pay"}, `match: label "team": pattern "[pay": syntax error in pattern`},
		{"empty pattern", map[string]string{"team": ""}, `match: label "team": pattern "": empty pattern`},
		{"empty name", map[string]string{"": "x"}, `match: label with an empty name (pattern "x")`},
		{"control character in the name", map[string]string{"a\x00": "x"}, `match: label "a\x00": name holds control characters`},
		{"two, sorted", map[string]string{"z": "", "a": "regex:"},
			"match: label \"a\": pattern \"regex:\": empty pattern\nmatch: label \"z\": pattern \"\": empty pattern"},
	}
	reg := testRegistry(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Playbook{Name: "x", Match: Match{Source: "alertmanager", Labels: tt.labels}, Steps: []Step{{ID: "a", Kind: "report:write"}}}
			err := p.Validate(reg)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("Validate error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}
