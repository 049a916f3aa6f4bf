package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/incident"
)

func TestMarkdownRegistries(t *testing.T) {
	inc := sample()
	inc.Image.Pushed = []incident.PushedImage{{Tag: "r.example/app:1", Ref: "r.example/app@sha256:c1ea", Digest: "sha256:c1ea", Previous: "sha256:bad"}}
	inc.Image.RegistryDeleted = []incident.RegistryDeletion{{Repository: "r.example/app", Digest: "sha256:bad", Tags: []string{"old"}}}
	inc.Image.RegistryRefused = []incident.RegistryRefusal{{Repository: "m.example/app", Digest: "sha256:bad", Reason: "405 UNSUPPORTED"}}
	inc.Image.BlastRadius = &incident.BlastRadius{Base: "none found", OwnLayers: []string{"sha256:l1", "sha256:l2"}, Scanned: 5,
		Affected: []incident.AffectedImage{{Repository: "r.example/derived", Tags: []string{"2", "latest"}, Digest: "sha256:d", Shared: 2, BuiltOn: true}}}
	var b bytes.Buffer
	if err := Markdown(&b, inc, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"- Pushed `r.example/app:1` as `r.example/app@sha256:c1ea` (was `sha256:bad`)\n",
		"- Deleted `r.example/app@sha256:bad`, tags old\n",
		"- **Survives** in `m.example/app@sha256:bad` (tags -): the registry refused the delete (405 UNSUPPORTED)\n",
		"5 image(s) compared; base: none found; own layers: 2.",
		"| r.example/derived | 2, latest | `sha256:d` | 2 of 2 | true |\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	var none bytes.Buffer
	if err := Markdown(&none, sample(), time.Now()); err != nil || strings.Contains(none.String(), "## Registries") {
		t.Errorf("a report without registry work has a Registries section (%v)", err)
	}
}
