package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/quell-ir/quell/internal/incident"
)

// CSS styles the HTML report and quell's incident pages, which show its
// chart and tables; it loads nothing (no fonts, no images).
//
//go:embed report.css
var CSS string

//go:embed report.html.tmpl
var htmlSource string

// HTMLPolicy is the HTML report's own Content-Security-Policy: it runs no
// script and loads nothing, so that opened from disk it asks no one
// anything.
const HTMLPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"stamp":     func(t *time.Time) string { return stamp(t) },
	"at":        func(t time.Time) string { return stamp(&t) },
	"took":      took,
	"short":     short,
	"dash":      orDash,
	"secs":      seconds,
	"verify":    VerifyCommand,
	"signature": signature,
	"join":      strings.Join,
	"csp":       func() string { return HTMLPolicy },
	"css":       func() template.CSS { return template.CSS(CSS) },
}).Parse(htmlSource))

// view is what the HTML templates read.
type view struct {
	Document
	Chart  chart
	Listed []incident.AlertRef
}

func newView(inc incident.Incident, now time.Time) view {
	doc := Document{SchemaVersion: SchemaVersion, Incident: inc, Figures: figures(inc), Detection: detection(inc), GeneratedAt: now.UTC()}
	return view{Document: doc, Chart: newChart(inc, now), Listed: listedAlerts(inc)}
}

// HTML writes the report as one self-contained HTML file: inline CSS, the
// timeline as inline SVG, no script and nothing fetched, printable to PDF
// from a browser.
func HTML(w io.Writer, inc incident.Incident, now time.Time) error {
	if err := htmlTemplate.ExecuteTemplate(w, "report", newView(inc, now)); err != nil {
		return fmt.Errorf("report %s: %w", inc.ID, err)
	}
	return nil
}

// Fragments are the parts of the HTML report a page may show on its own.
var Fragments = []string{"chart", "figures", "approvals", "evidence", "units"}

// Fragment writes one part of the HTML report, named in Fragments, for a
// page that embeds it; the page must carry CSS.
func Fragment(w io.Writer, name string, inc incident.Incident, now time.Time) error {
	if !strings.Contains(" "+strings.Join(Fragments, " ")+" ", " "+name+" ") {
		return fmt.Errorf("report fragment %q: want one of %s", name, strings.Join(Fragments, ", "))
	}
	if err := htmlTemplate.ExecuteTemplate(w, name, newView(inc, now)); err != nil {
		return fmt.Errorf("report %s: %s: %w", inc.ID, name, err)
	}
	return nil
}

// Format is one rendering of the report.
type Format struct {
	// Name is the format's name in ?format=, and its file extension.
	Name string
	// ContentType is its media type.
	ContentType string
	// Render writes inc's report in the format.
	Render func(w io.Writer, inc incident.Incident, now time.Time) error
}

// Formats are the report's renderings: Markdown (the default), HTML and
// JSON.
var Formats = []Format{
	{"md", "text/markdown; charset=utf-8", Markdown},
	{"html", "text/html; charset=utf-8", HTML},
	{"json", "application/json", JSON},
}

// FormatNamed returns the format called name.
func FormatNamed(name string) (Format, bool) {
	for _, f := range Formats {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}
