package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/playbooks"
)

// sampleAlert writes Falco's documented terminal-shell alert (from
// ../shared/samples) aimed at container id to a file and returns its path.
func sampleAlert(t *testing.T, id string) string {
	t.Helper()
	a, err := rig.LoadAlert("../../../shared/samples/falco-website_docs-outputs-channels_terminal-shell.json")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "alert.json")
	if err := os.WriteFile(f, a.For(id), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPlanTouchesNothing plans the library's compromised-container
// playbook for a real Falco alert aimed at a running container on the
// daemon: the plan names its networks and image, and the container keeps
// both networks, runs and is not paused.
func TestPlanTouchesNothing(t *testing.T) {
	rt := dockertest.Client(t)
	img := dockertest.Image(t, rt)
	nets := []string{dockertest.Network(t, rt), dockertest.Network(t, rt)}
	ctr := dockertest.Run(t, rt, img, dockertest.RunOptions{Name: "plan-victim-" + filepath.Base(t.TempDir()), Networks: nets})
	alertFile := sampleAlert(t, ctr.ID)

	out, err := runCmd(t, "plan", "--alert", alertFile)
	if err != nil {
		t.Fatalf("quell plan: %v\n%s", err, out)
	}
	t.Logf("quell plan:\n%s", out)
	short := ctr.ID[:12]
	for _, want := range []string{
		"playbook: compromised-container (library/compromised-container.yaml)",
		" 1. contain (docker:isolate)",
		"disconnect container " + ctr.Name + " (" + short + ") from network " + nets[0],
		"disconnect container " + ctr.Name + " (" + short + ") from network " + nets[1],
		"pause container " + ctr.Name + " (" + short + ")",
		"replace container " + ctr.Name + " (" + short + ") by a container of the clean image",
		"delete image " + ctr.ImageID + " once no container uses it",
		"steps (nothing was changed):",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	got, err := rt.Container(t.Context(), ctr.ID)
	if err != nil {
		t.Fatal(err)
	}
	var on []string
	for _, n := range got.Networks {
		on = append(on, n.Network)
	}
	slices.Sort(on)
	want := slices.Sorted(slices.Values(nets))
	if !got.Running || got.Paused || !slices.Equal(on, want) {
		t.Errorf("after the plan: running %t paused %t networks %v, want running, not paused, on %v", got.Running, got.Paused, on, want)
	}

	// --playbook plans a given playbook; its condition is honoured.
	pb := filepath.Join(t.TempDir(), "pb.yaml")
	if err := os.WriteFile(pb, []byte(`
name: cautious
match: {source: falco, target: docker}
steps:
  - id: contain
    kind: docker:isolate
    when: 'alert.priority_level >= 7'
  - id: report
    kind: report:write
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runCmd(t, "plan", "--alert", alertFile, "--playbook", pb, "--json")
	if err != nil {
		t.Fatalf("quell plan --playbook: %v\n%s", err, out)
	}
	var plan playbooks.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Playbook != "cautious" || len(plan.Steps) != 2 || plan.Steps[0].Run || !plan.Steps[1].Run {
		t.Errorf("plan = %+v, want cautious with contain skipped (the alert is Critical)", plan)
	}
}

func TestPlanErrors(t *testing.T) {
	if _, err := runCmd(t, "plan"); err == nil || !strings.Contains(err.Error(), "usage: quell plan --alert FILE") {
		t.Errorf("no alert: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"rule": 3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "plan", "--alert", bad); err == nil || !strings.Contains(err.Error(), "bad.json: ") {
		t.Errorf("bad alert: %v", err)
	}
}
