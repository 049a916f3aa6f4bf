package playbooks

import (
	"testing"
)

func TestValidateInvalid(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{
			name: "playbook and match problems",
			yaml: `name: Bad_Name
match:
  target: dokker
  rules: ["[a-", "regex:(", ""]
  tags: [""]
  required_fields: [target.ip, ""]
steps: []
`,
			want: `pb.yaml: playbook "Bad_Name": name must match ^[a-z0-9][a-z0-9-]*$
pb.yaml:2: match: source required
pb.yaml:2: match: target "dokker" unknown (want docker, kubernetes or image)
pb.yaml:2: match: rule "[a-": syntax error in pattern
pb.yaml:2: match: rule "regex:(": error parsing regexp: missing closing ): ` + "`(`" + `
pb.yaml:2: match: rule "": empty pattern
pb.yaml:2: match: empty tag
pb.yaml:2: match: required field "target.ip" unknown (target fields: target.container_id, target.container_name, target.host, target.image, target.kind, target.namespace, target.pod)
pb.yaml:2: match: empty required field
pb.yaml: playbook "Bad_Name": no steps`,
		},
		{
			name: "step problems",
			yaml: `match: {source: falco}
steps:
  - kind: report:write
  - id: Snap
    kind: evidence:snapshot
    with: {export: "yes", compress: true, logs: ~}
  - id: x
    kind: docker:explode
    timeout: 1h
  - id: x
    kind: docker:isolate
    timeout: 500ms
    on_failure: skip
    retry: {max_attempts: -1, backoff_coefficient: 0.5, initial_interval: 2s, maximum_interval: 1s, non_retryable: [""]}
  - id: gate
    kind: approval
    timeout: 48h
    retry: {max_attempts: 1}
    with: {on_reject: ignore, approvers: [alice, 3]}
  - id: del
    kind: image:delete
    with: {keep: 1.5, grace: soon, tags: ops}
  - id: ""
`,
			want: `pb.yaml: playbook: name required
pb.yaml:3: step #1 (report:write): id required
pb.yaml:4: step "Snap" (evidence:snapshot): id must match ^[a-z0-9][a-z0-9-]*$
pb.yaml:4: step "Snap" (evidence:snapshot): param compress: unknown (known: export, commit, logs, processes)
pb.yaml:4: step "Snap" (evidence:snapshot): param export: want bool, got string
pb.yaml:7: step "x" (docker:explode): unknown kind "docker:explode"
pb.yaml:10: step "x" (docker:isolate): id already used by step #3
pb.yaml:10: step "x" (docker:isolate): timeout 500ms out of range (want 1s to 24h)
pb.yaml:10: step "x" (docker:isolate): retry: max_attempts -1 is negative
pb.yaml:10: step "x" (docker:isolate): retry: backoff_coefficient 0.5 is less than 1
pb.yaml:10: step "x" (docker:isolate): retry: maximum_interval 1s is less than initial_interval 2s
pb.yaml:10: step "x" (docker:isolate): retry: empty non_retryable error type
pb.yaml:10: step "x" (docker:isolate): on_failure "skip" unknown (want abort or continue)
pb.yaml:15: step "gate" (approval): param approvers: want strings, got int in item 2
pb.yaml:15: step "gate" (approval): param on_reject: "ignore" not one of stop, release
pb.yaml:15: step "gate" (approval): timeout 48h out of range (want 1s to 24h)
pb.yaml:15: step "gate" (approval): retry: a gate is run by the workflow and never retried
pb.yaml:20: step "del" (image:delete): param grace: invalid duration "soon" (want e.g. "30s", "5m", "1h30m")
pb.yaml:20: step "del" (image:delete): param keep: want int, got float
pb.yaml:20: step "del" (image:delete): param tags: want strings, got string
pb.yaml:20: step "del" (image:delete): param reason: required
pb.yaml:23: step #7: id required
pb.yaml:23: step #7: kind required`,
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

// TestValidateMessages checks Validate's own wording, without the file and
// line that Parse adds.
func TestValidateMessages(t *testing.T) {
	p := Playbook{
		Name:  "p",
		Match: Match{Source: "falco"},
		Steps: []Step{{ID: "snap", Kind: "evidence:snapshot", With: map[string]any{"export": "yes"}}},
	}
	want := `step "snap" (evidence:snapshot): param export: want bool, got string`
	if err := p.Validate(testRegistry(t)); err == nil || err.Error() != want {
		t.Errorf("Validate error:\n%v\nwant:\n%s", err, want)
	}
	if err := (&Playbook{Name: "p", Match: Match{Source: "falco"}}).Validate(nil); err == nil ||
		err.Error() != `playbook "p": no steps` {
		t.Errorf("Validate with no steps: %v", err)
	}
}

func TestValidateDestructive(t *testing.T) {
	step := func(id, kind, onFailure string) Step {
		s := Step{ID: id, Kind: kind, OnFailure: onFailure}
		if kind == "image:delete" {
			s.With = map[string]any{"reason": "compromised"}
		}
		return s
	}
	tests := []struct {
		name  string
		steps []Step
		want  string
	}{
		{
			name:  "no snapshot",
			steps: []Step{step("isolate", "docker:isolate", ""), step("delete", "image:delete", "")},
			want:  `step "delete" (image:delete): destructive step has no earlier snapshot of its target (add an evidence:snapshot step before it)`,
		},
		{
			name:  "snapshot after",
			steps: []Step{step("delete", "image:delete", ""), step("snap", "evidence:snapshot", "")},
			want:  `step "delete" (image:delete): destructive step has no earlier snapshot of its target (add an evidence:snapshot step before it)`,
		},
		{
			name:  "snapshot may be skipped",
			steps: []Step{step("snap", "evidence:snapshot", "continue"), step("delete", "image:delete", "")},
			want:  `step "delete" (image:delete): destructive step's earlier snapshot "snap" has on_failure: continue (make it abort, so that a failed snapshot stops the playbook)`,
		},
		{
			name:  "snapshot before",
			steps: []Step{step("snap", "evidence:snapshot", ""), step("ok", "approval", ""), step("delete", "image:delete", "")},
		},
		{
			name: "one aborting snapshot among others",
			steps: []Step{step("s1", "evidence:snapshot", "continue"), step("s2", "evidence:snapshot", "abort"),
				step("delete", "image:delete", "")},
		},
	}
	reg := testRegistry(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Playbook{Name: "p", Match: Match{Source: "falco"}, Steps: tt.steps}
			err := p.Validate(reg)
			if got := errText(err); got != tt.want {
				t.Errorf("Validate error:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// errText returns err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
