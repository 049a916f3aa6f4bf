package playbooks

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
)

func TestParseStrict(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{
			name: "unknown top-level key",
			yaml: "name: x\nmatch: {source: falco}\nsteps: [{id: a, kind: report:write}]\nstep: []\n",
			want: `pb.yaml:4: unknown field "step" in playbook`,
		},
		{
			name: "unknown key in a step",
			yaml: "name: x\nmatch: {source: falco}\nsteps:\n  - id: a\n    kind: report:write\n    timeot: 5s\n",
			want: `pb.yaml:6: unknown field "timeot" in step`,
		},
		{
			name: "unknown keys in match and retry, all reported",
			yaml: "name: x\nmatch: {source: falco, rule: [a]}\nsteps:\n  - id: a\n    kind: report:write\n    retry: {attempts: 3}\n",
			want: "pb.yaml:2: unknown field \"rule\" in match\npb.yaml:6: unknown field \"attempts\" in retry",
		},
		{
			name: "bad priority",
			yaml: "name: x\nmatch:\n  source: falco\n  min_priority: severe\nsteps: [{id: a, kind: report:write}]\n",
			want: `pb.yaml:4: min_priority: unknown priority "severe" (want one of debug, informational, notice, warning, error, critical, alert, emergency)`,
		},
		{
			name: "priority as a list",
			yaml: "name: x\nmatch: {source: falco, min_priority: [warning]}\nsteps: [{id: a, kind: report:write}]\n",
			want: `pb.yaml:2: min_priority: want a priority name, got (a list)`,
		},
		{
			name: "duration as a number",
			yaml: "name: x\nmatch: {source: falco}\nsteps:\n  - id: a\n    kind: report:write\n    timeout: 30\n",
			want: `pb.yaml:6: invalid duration 30: want a string like "30s"`,
		},
		{
			name: "bad duration string",
			yaml: "name: x\nmatch: {source: falco}\nsteps:\n  - id: a\n    kind: report:write\n    retry: {initial_interval: 2 seconds}\n",
			want: `pb.yaml:6: invalid duration "2 seconds" (want e.g. "30s", "5m", "1h30m")`,
		},
		{
			name: "wrong type",
			yaml: "name: x\nmatch: {source: falco, rules: \"*\"}\nsteps: [{id: a, kind: report:write}]\n",
			want: "pb.yaml:2: cannot unmarshal !!str `*` into []string",
		},
		{
			name: "duplicate key",
			yaml: "name: x\nname: y\nmatch: {source: falco}\nsteps: [{id: a, kind: report:write}]\n",
			want: `pb.yaml:2: mapping key "name" already defined at line 1`,
		},
		{
			name: "not a mapping",
			yaml: "- name: x\n",
			want: "pb.yaml:1: cannot unmarshal !!seq into playbook",
		},
		{
			name: "syntax error",
			yaml: "name: x\nmatch:\n\tsource: falco\n",
			want: "pb.yaml:3: found character that cannot start any token",
		},
		{
			name: "empty file",
			yaml: "# nothing\n",
			want: "pb.yaml: empty playbook",
		},
		{
			name: "two documents",
			yaml: "name: x\nmatch: {source: falco}\nsteps: [{id: a, kind: report:write}]\n---\nname: y\n",
			want: "pb.yaml: more than one YAML document (want one playbook per file)",
		},
	}
	reg := testRegistry(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("pb.yaml", []byte(tt.yaml), reg)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	src := `
name: approve-then-delete
match: {source: falco}
steps:
  - id: snap
    kind: evidence:snapshot
    with: {logs: false}
  - id: ok
    kind: approval
    timeout: 2h
    with: {approvers: [alice, bob]}
  - id: delete
    kind: image:delete
    with: {reason: compromised, grace: 120s, keep: 0}
`
	p, err := Parse("pb.yaml", []byte(src), testRegistry(t))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	snap, ok, del := p.Steps[0], p.Steps[1], p.Steps[2]
	if snap.With["export"] != true || snap.With["logs"] != false {
		t.Errorf("snapshot params = %v, want export true (default), logs false", snap.With)
	}
	if approvers, _ := ok.With["approvers"].([]string); ok.Retry != nil || ok.With["on_reject"] != "stop" || len(approvers) != 2 {
		t.Errorf("approval step = %+v", ok)
	}
	if got := del.With["grace"]; got != "2m0s" {
		t.Errorf("grace = %#v, want canonical \"2m0s\"", got)
	}
	if del.With["keep"] != 0 || del.With["force"] != false || del.With["reason"] != "compromised" {
		t.Errorf("delete params = %v", del.With)
	}
	if _, set := del.With["tags"]; set {
		t.Errorf("tags set without a default: %v", del.With)
	}
	if p.File != "pb.yaml" {
		t.Errorf("File = %q", p.File)
	}
}

func TestParseMatchLabels(t *testing.T) {
	src := `
name: am
match:
  source: alertmanager
  labels: {severity: critical, alertname: "regex:^Crypto"}
steps:
  - {id: report, kind: report:write}
`
	p, err := Parse("am.yaml", []byte(src), testRegistry(t))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := p.Match.Labels["alertname"]; got != "regex:^Crypto" {
		t.Errorf("labels = %v", p.Match.Labels)
	}
	if _, err := Parse("bad.yaml", []byte(strings.Replace(src, `"regex:^Crypto"`, `"regex:("`, 1)), testRegistry(t)); err == nil {
		t.Error("a bad label pattern loaded")
	}
}

// TestParseDigest: a playbook records the digest of its file's bytes, which
// any change to the file changes.
func TestParseDigest(t *testing.T) {
	src := "name: hold\nmatch: {source: falco}\nsteps:\n  - {id: hold, kind: approval, timeout: 1h, with: {approvers: [a]}}\n"
	p, err := Parse("pb.yaml", []byte(src), testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := "sha256:" + fmt.Sprintf("%x", sha256.Sum256([]byte(src))); p.Digest != want {
		t.Errorf("Digest = %s, want %s", p.Digest, want)
	}
	q, err := Parse("pb.yaml", []byte(src+"# a comment\n"), testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	if q.Digest == p.Digest {
		t.Error("a changed file kept its digest")
	}
}
