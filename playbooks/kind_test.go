package playbooks

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// testKinds are the core kinds, described as the real registry in main
// describes them, plus a fake destructive kind with one parameter of each
// type.
func testKinds() []Kind {
	snapshotParam := func(name string) Param {
		return Param{Name: name, Type: ParamBool, Default: true, Description: "take " + name}
	}
	return []Kind{
		{
			Name: "docker:isolate", Description: "Disconnect the container from its networks and pause it.",
			Needs:          []string{"POST /networks/{id}/disconnect", "POST /containers/{id}/pause"},
			Undo:           "docker:release",
			DefaultTimeout: 30 * time.Second,
			DefaultRetry:   Retry{MaxAttempts: 3, InitialInterval: Duration(time.Second)},
		},
		{
			Name: "evidence:snapshot", Description: "Preserve the container's filesystem, image, logs and processes.",
			Preserves: true,
			Params: []Param{
				snapshotParam("export"), snapshotParam("commit"), snapshotParam("logs"), snapshotParam("processes"),
			},
			DefaultTimeout: 30 * time.Minute,
		},
		{Name: "evidence:verify", Description: "Check the preserved evidence against its digests.", DefaultTimeout: 10 * time.Minute},
		{
			Name: "approval", Description: "Wait for a human to approve the next steps.", Gate: true,
			Params: []Param{
				{Name: "approvers", Type: ParamStrings, Description: "who may decide"},
				{Name: "on_reject", Type: ParamString, Enum: []string{"stop", "release"}, Default: "stop", Description: "what a rejection does"},
			},
			DefaultTimeout: time.Hour,
		},
		{Name: "report:write", Description: "Write the incident report."},
		{
			Name: "image:delete", Description: "Delete the container's image.", Destructive: true,
			Needs: []string{"DELETE /images/{name}"},
			Params: []Param{
				{Name: "force", Type: ParamBool, Default: false},
				{Name: "grace", Type: ParamDuration, Default: 90 * time.Second},
				{Name: "keep", Type: ParamInt, Default: 1},
				{Name: "tags", Type: ParamStrings},
				{Name: "reason", Type: ParamString, Required: true},
			},
		},
	}
}

// testRegistry returns a registry of testKinds.
func testRegistry(t *testing.T) *Registry {
	t.Helper()
	reg, err := NewRegistry(testKinds()...)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return reg
}

func TestRegistry(t *testing.T) {
	reg := testRegistry(t)
	var names []string
	for _, k := range reg.Kinds() {
		names = append(names, k.Name)
	}
	want := []string{"approval", "docker:isolate", "evidence:snapshot", "evidence:verify", "image:delete", "report:write"}
	if !slices.Equal(names, want) {
		t.Errorf("Kinds() = %v, want %v", names, want)
	}
	k, ok := reg.Kind("image:delete")
	if !ok {
		t.Fatal(`Kind("image:delete") not found`)
	}
	if got := k.Params[1].Default; got != "1m30s" {
		t.Errorf("duration default = %#v, want \"1m30s\"", got)
	}
	if k.DefaultTimeout != DefaultStepTimeout {
		t.Errorf("DefaultTimeout = %v, want %v", k.DefaultTimeout, DefaultStepTimeout)
	}
	if _, ok := reg.Kind("nope"); ok {
		t.Error(`Kind("nope") found`)
	}
	var nilReg *Registry
	if _, ok := nilReg.Kind("approval"); ok || nilReg.Kinds() != nil {
		t.Error("nil registry is not empty")
	}
}

func TestNewRegistryErrors(t *testing.T) {
	_, err := NewRegistry(
		Kind{Name: "report:write"},
		Kind{Name: "report:write"},
		Kind{Name: "Docker:Isolate"},
		Kind{Name: "a:b:c"},
		Kind{Name: "slow:step", DefaultTimeout: 48 * time.Hour, DefaultRetry: Retry{BackoffCoefficient: 0.5}},
		Kind{Name: "gate:bad", Gate: true, Destructive: true},
		Kind{Name: "param:bad", Params: []Param{
			{Name: "x", Type: ParamBool, Default: "yes"},
			{Name: "x", Type: "float"},
			{Name: "Mode", Type: ParamInt, Enum: []string{"a"}},
			{Name: "who", Type: ParamStrings, Required: true, Default: []string{"ops"}},
			{Name: "mode", Type: ParamString, Enum: []string{"a", "b"}, Default: "c"},
		}},
	)
	want := `kind "report:write": registered twice
kind "Docker:Isolate": name must match ^[a-z0-9]+(:[a-z0-9-]+)?$
kind "a:b:c": name must match ^[a-z0-9]+(:[a-z0-9-]+)?$
kind "slow:step": default timeout 48h out of range (want 1s to 24h)
kind "slow:step": default retry: backoff_coefficient 0.5 is less than 1
kind "gate:bad": a gate runs no activity, so it can neither destroy nor preserve
kind "param:bad": param x: default: want bool, got string
kind "param:bad": param x: declared twice
kind "param:bad": param x: unknown type "float"
kind "param:bad": param Mode: name must match ^[a-z][a-z0-9_]*$
kind "param:bad": param Mode: enum needs type string or strings, not int
kind "param:bad": param who: required and has a default
kind "param:bad": param mode: default: "c" not one of a, b`
	if err == nil || err.Error() != want {
		t.Errorf("NewRegistry error:\n%v\nwant:\n%s", err, want)
	}
}

// fmtBytes is fmt.Sprintf returning bytes.
func fmtBytes(format string, args ...any) []byte { return []byte(fmt.Sprintf(format, args...)) }
