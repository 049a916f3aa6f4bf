package main

import (
	"bytes"
	"os"
	"testing"
)

func TestPlaybookValidateConditionTypo(t *testing.T) {
	_, err := runCmd(t, "playbook", "validate", "testdata/typo.yaml")
	want := `typo.yaml:6: step "approve" (approval): when "alert.priorty != \"emergency\"": 1:6: undefined field 'priorty'`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestPlaybookSchema(t *testing.T) {
	out, err := runCmd(t, "playbook", "schema")
	if err != nil {
		t.Fatal(err)
	}
	published, err := os.ReadFile("../../playbooks/schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal([]byte(out), published) {
		t.Error("quell playbook schema differs from playbooks/schema.json")
	}
}
