package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quell-ir/quell/playbooks"
)

// TestPlaybookTestOnTheSamples replays the recorded alerts of
// ../shared/samples through the built-in library: every case behaves as
// it expects.
func TestPlaybookTestOnTheSamples(t *testing.T) {
	out, err := runCmd(t, "playbook", "test", "../../playbooks/testdata/samples")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "ok   falco-terminal-shell: playbook compromised-pod would run contain,") || !strings.Contains(out, " 0 behave otherwise") {
		t.Errorf("output:\n%s", out)
	}
}

// TestPlaybookTestShowsChangedBehaviour: a library whose pod playbook
// answers Notice takes the two Notice alerts on pods that the cases
// expect no playbook for, and the run names those cases alone; a wrong or
// malformed case fails too.
func TestPlaybookTestShowsChangedBehaviour(t *testing.T) {
	lib := t.TempDir()
	for _, name := range []string{"compromised-container", "compromised-pod", "vulnerable-image"} {
		data, err := playbooks.Library.ReadFile("library/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if name == "compromised-pod" {
			data = []byte(strings.Replace(string(data), "min_priority: warning", "min_priority: notice", 1))
		}
		if err := os.WriteFile(filepath.Join(lib, name+".yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCmd(t, "playbook", "test", "../../playbooks/testdata/samples", "--playbooks", lib)
	if err == nil || !strings.Contains(err.Error(), "2 of 9 cases") {
		t.Fatalf("err = %v, want two cases changed\n%s", err, out)
	}
	for _, want := range []string{"FAIL falco-terminal-shell-nulls: playbook compromised-pod; want none", "FAIL falco-k8saudit-2: playbook compromised-pod; want none"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	cases := t.TempDir()
	sample, _ := filepath.Abs("../../../shared/samples/falcosidekick_README_curl-test-event.json")
	for name, body := range map[string]string{
		"wrong":     "alert: " + sample + "\nsource: falco\nexpect: {playbook: compromised-container}\n",
		"typo":      "alert: " + sample + "\nsource: falco\nexpect: {playbok: none}\n",
		"no-source": "alert: " + sample + "\nsource: syslog\nexpect: {playbook: none}\n",
		"refused":   "alert: " + sample + "\nsource: trivy\nexpect: {refused: SchemaVersion}\n",
	} {
		if err := os.WriteFile(filepath.Join(cases, name+".yaml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err = runCmd(t, "playbook", "test", cases)
	if err == nil || !strings.Contains(err.Error(), "3 of 4 cases") {
		t.Errorf("err = %v, want 3 of 4 failing\n%s", err, out)
	}
	for _, want := range []string{"FAIL wrong: playbook none; want compromised-container", `FAIL typo: case: error unmarshaling JSON`, `FAIL no-source: case: source "syslog"`, "ok   refused: refused: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runCmd(t, "playbook", "test"); exitCode(err) != 2 {
		t.Errorf("no dir = %v, want a usage error", err)
	}
}
