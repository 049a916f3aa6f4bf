package playbooks

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestStepJSONRoundTrip(t *testing.T) {
	p := Playbook{
		Name:  "all-types",
		Match: Match{Source: "falco"},
		Steps: []Step{
			{ID: "snap", Kind: "evidence:snapshot"},
			{ID: "ok", Kind: "approval", With: map[string]any{"approvers": []any{}}},
			{ID: "delete", Kind: "image:delete", With: map[string]any{
				"reason": "compromised", "keep": 7, "grace": "2m", "tags": []any{"a", "b"},
			}, Retry: &Retry{MaxAttempts: 2, BackoffCoefficient: 1.5, NonRetryable: []string{"NotFound"}}},
		},
	}
	if err := p.Validate(testRegistry(t)); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got Playbook
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Errorf("round trip changed the playbook\ngot:  %#v\nwant: %#v\njson: %s", got, p, b)
	}
	for i := range p.Steps {
		checkGettersEqual(t, p.Steps[i], got.Steps[i])
	}
}

func TestDurationCoding(t *testing.T) {
	b, err := json.Marshal(Duration(90 * time.Second))
	if err != nil || string(b) != `"1m30s"` {
		t.Errorf("Marshal = %s, %v; want \"1m30s\"", b, err)
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"250ms"`), &d); err != nil || d != Duration(250*time.Millisecond) {
		t.Errorf("Unmarshal \"250ms\" = %v, %v", d, err)
	}
	for in, want := range map[string]string{
		`30`:     `duration: want a string like "30s", got 30`,
		`"soon"`: `invalid duration "soon" (want e.g. "30s", "5m", "1h30m")`,
	} {
		if err := json.Unmarshal([]byte(in), &d); err == nil || err.Error() != want {
			t.Errorf("Unmarshal %s error = %v, want %s", in, err, want)
		}
	}
	y, err := yaml.Marshal(struct{ T Duration }{Duration(time.Hour)})
	if err != nil || string(y) != "t: 1h0m0s\n" {
		t.Errorf("yaml.Marshal = %q, %v", y, err)
	}
}
