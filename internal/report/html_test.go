package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/quell-ir/quell/internal/incident"
)

// TestHTMLSelfContained: the HTML report is one file that runs nothing and
// loads nothing, with one bar per step, the containment marked and what
// an attacker wrote escaped.
func TestHTMLSelfContained(t *testing.T) {
	inc := sample()
	inc.Rule = `Shell <script>alert(1)</script>`
	inc.Steps = append(inc.Steps, incident.Step{ID: "rebuild", Kind: "image:rebuild", Status: incident.StepPending})
	var b bytes.Buffer
	if err := HTML(&b, inc, time.Date(2026, 11, 23, 1, 0, 10, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := len(regexp.MustCompile(`<rect class="bar [^"]*" data-step="`).FindAllString(page, -1)); n != len(inc.Steps) {
		t.Errorf("%d bars for %d steps", n, len(inc.Steps))
	}
	for _, want := range []string{
		`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;`,
		`<g class="contained">`, "contained 1s", `data-step="approve"`, "sha256sum", "&lt;script&gt;alert(1)&lt;/script&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "src=\"http", "href=\"http", "@import", "url("} {
		if strings.Contains(page, banned) {
			t.Errorf("report holds %q: it must load and run nothing", banned)
		}
	}
}

func TestFragment(t *testing.T) {
	for _, name := range Fragments {
		var b bytes.Buffer
		if err := Fragment(&b, name, sample(), time.Now()); err != nil || b.Len() == 0 {
			t.Errorf("Fragment(%s) = %d bytes, %v", name, b.Len(), err)
		}
	}
	if err := Fragment(&bytes.Buffer{}, "report", sample(), time.Now()); err == nil {
		t.Error("Fragment(report) accepted: the whole page is not a fragment")
	}
}

// TestJSONValidatesAgainstSchema: the JSON report of a finished incident
// and of one still running validate against Schema, and a document that
// breaks it does not.
func TestJSONValidatesAgainstSchema(t *testing.T) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		t.Fatalf("Schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("report.schema.json", v); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatalf("compile Schema: %v", err)
	}
	running := sample()
	running.Status, running.ClosedAt, running.ContainedAt, running.Evidence, running.Image = incident.StatusRunning, nil, nil, nil, nil
	for name, inc := range map[string]incident.Incident{"completed": sample(), "running": running, "empty": {ID: "x.y", Status: incident.StatusRunning}} {
		var b bytes.Buffer
		if err := JSON(&b, inc, time.Now()); err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(&b)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("%s report does not validate: %v", name, err)
		}
	}
	var b bytes.Buffer
	if err := JSON(&b, sample(), time.Now()); err != nil {
		t.Fatal(err)
	}
	var broken map[string]any
	if err := json.Unmarshal(b.Bytes(), &broken); err != nil {
		t.Fatal(err)
	}
	delete(broken, "schema_version")
	if err := sch.Validate(broken); err == nil {
		t.Error("a report without schema_version validates")
	}
}

// TestSignatureLine: the report says who signed the evidence and when an
// authority certified it, or why it has not yet, in Markdown and HTML.
func TestSignatureLine(t *testing.T) {
	at := time.Date(2026, 11, 23, 1, 0, 3, 0, time.UTC)
	for _, tc := range []struct {
		ev   incident.Evidence
		want string
	}{
		{incident.Evidence{}, "Manifest unsigned"},
		{incident.Evidence{SignedBy: "k1"}, "key k1; no timestamp authority configured"},
		{incident.Evidence{SignedBy: "k1", TimestampedAt: &at}, "key k1; timestamped 2026-11-23 01:00:03"},
		{incident.Evidence{SignedBy: "k1", TimestampMissing: "authority down"}, "timestamp missing (authority down): quell adds it when the authority answers"},
	} {
		inc := sample()
		inc.Evidence = &tc.ev
		var md, page bytes.Buffer
		if err := Markdown(&md, inc, at); err != nil {
			t.Fatal(err)
		}
		if err := HTML(&page, inc, at); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(md.String(), tc.want) || !strings.Contains(page.String(), tc.want) {
			t.Errorf("%+v: the reports lack %q:\n%s", tc.ev, tc.want, md.String())
		}
	}
}
