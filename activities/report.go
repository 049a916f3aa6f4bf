package activities

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/report"
)

// Reports holds the activity that writes post-incident reports.
type Reports struct {
	// Dir is where reports land: <data-dir>/reports.
	Dir string
	// Tallied returns the incident with the record of its alert tally,
	// when a storm's alerts went to one; nil leaves it as it is.
	Tallied func(context.Context, incident.Incident) incident.Incident
}

// ReportInput is the input of WriteReport.
type ReportInput struct {
	Incident incident.Incident `json:"incident"`
}

// ReportResult names the files WriteReport wrote.
type ReportResult struct {
	Markdown string `json:"markdown"`
	HTML     string `json:"html,omitempty"`
	JSON     string `json:"json"`
}

// WriteReport renders the incident's report in every format (Markdown,
// HTML, JSON) under Dir/<incident-id>.<format>, replacing an earlier
// rendering atomically.
func (r *Reports) WriteReport(ctx context.Context, in ReportInput) (ReportResult, error) {
	if err := os.MkdirAll(r.Dir, 0o750); err != nil {
		return ReportResult{}, fmt.Errorf("report dir: %w", err)
	}
	now := time.Now()
	if r.Tallied != nil {
		in.Incident = r.Tallied(ctx, in.Incident)
	}
	base := filepath.Join(r.Dir, in.Incident.ID)
	res := ReportResult{Markdown: base + ".md", HTML: base + ".html", JSON: base + ".json"}
	for _, f := range report.Formats {
		var b bytes.Buffer
		if err := f.Render(&b, in.Incident, now); err != nil {
			return ReportResult{}, err
		}
		if err := replaceFile(base+"."+f.Name, b.Bytes()); err != nil {
			return ReportResult{}, err
		}
	}
	return res, nil
}

// replaceFile writes data to path through a temporary file and a rename, so
// a reader never sees half a report.
func replaceFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
