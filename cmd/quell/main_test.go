package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out)
	return out.String(), err
}

func TestSteps(t *testing.T) {
	out, err := runCmd(t, "steps")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"docker:isolate\n", "evidence:snapshot\n", "evidence:verify\n", "approval\n", "report:write\n",
		"param export (bool, default true)", "param on_reject (string, default stop, one of stop|release)",
		"undo: UndoIsolation", "needs: GET /containers/{id}/json, POST /networks/{id}/disconnect", "traits: human gate"} {
		if !strings.Contains(out, want) {
			t.Errorf("quell steps lacks %q:\n%s", want, out)
		}
	}
}

func TestPlaybookValidate(t *testing.T) {
	out, err := runCmd(t, "playbook", "validate", "../../playbooks/library/compromised-container.yaml")
	if err != nil || !strings.Contains(out, `ok (playbook "compromised-container", 10 steps)`) {
		t.Errorf("library playbook: %q %v", out, err)
	}
	_, err = runCmd(t, "playbook", "validate", "testdata/bad.yaml", "testdata/destructive.yaml")
	if err == nil {
		t.Fatal("invalid playbooks validated")
	}
	for _, want := range []string{"bad.yaml:6", "timeot", `destructive.yaml`, `step "preserve" (evidence:snapshot)`, `param export: want bool, got string`, `step "wait" (approval)`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"playbook"}, {"playbook", "validate"}, {"dev", "--no-such-flag"}} {
		_, err := runCmd(t, args...)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("%v: err %v, exit %d, want a usage error", args, err, exitCode(err))
		}
	}
}

func TestServeRefusesWithoutToken(t *testing.T) {
	t.Setenv("QUELL_API_TOKEN", "")
	_, err := runCmd(t, "serve", "--temporal-address", "127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "needs an API token") || exitCode(err) != 2 {
		t.Errorf("serve without token: %v", err)
	}
}

// TestDeployedClusterRoleIsGenerated keeps deploy/kubernetes/clusterrole.yaml
// what `quell steps --rbac` prints for the library (`make rbac` writes it).
func TestDeployedClusterRoleIsGenerated(t *testing.T) {
	out, err := runCmd(t, "steps", "--rbac")
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile("../../deploy/kubernetes/clusterrole.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(file) != out {
		t.Errorf("deploy/kubernetes/clusterrole.yaml is not what quell steps --rbac prints: run make rbac\n%s", out)
	}
	for _, want := range []string{"networkpolicies", "validatingadmissionpolicies", "pods/log"} {
		if !strings.Contains(out, want) {
			t.Errorf("the ClusterRole lacks %s", want)
		}
	}
}
