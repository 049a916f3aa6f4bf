package chaos

import (
	"reflect"
	"slices"
	"testing"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/playbooks"
)

// TestRecoveryPlaybookIsTheLibrarys checks the recovery trials run the
// built-in compromised-container playbook's steps with their settings, and
// that only the tagged alerts reach it.
func TestRecoveryPlaybookIsTheLibrarys(t *testing.T) {
	kinds, err := app.Kinds()
	if err != nil {
		t.Fatal(err)
	}
	reg := kinds.Playbooks()
	lib, err := playbooks.LoadLibrary(reg)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(lib, func(p playbooks.Playbook) bool { return p.Name == "compromised-container" })
	if i < 0 {
		t.Fatal("no compromised-container playbook in the library")
	}
	data, err := recoveryPlaybook()
	if err != nil {
		t.Fatal(err)
	}
	got, err := playbooks.Parse("compromised-container.yaml", data, reg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Steps, lib[i].Steps) {
		t.Errorf("steps = %+v\nwant the library's %+v", got.Steps, lib[i].Steps)
	}
	a := alert.Alert{Source: "falco", Rule: "Terminal shell in container", Priority: alert.Critical,
		Target: alert.Target{Kind: alert.KindDocker, ContainerID: "0123456789ab"}}
	if !lib[i].Match.Matches(a) || got.Match.Matches(a) {
		t.Errorf("an untagged alert: library playbook matches %t, the trials' %t; want true, false",
			lib[i].Match.Matches(a), got.Match.Matches(a))
	}
	a.Tags = []string{"container", recoveryTag}
	if !got.Match.Matches(a) {
		t.Errorf("the trials' playbook does not take an alert tagged %s", recoveryTag)
	}
}
