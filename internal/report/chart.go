package report

import (
	"fmt"
	"time"

	"github.com/quell-ir/quell/internal/incident"
)

// The timeline chart's geometry, in SVG user units; the SVG scales to the
// width it is given.
const (
	chartLabel = 170 // the step names' column
	chartPlot  = 610 // the time axis
	chartPad   = 10
	chartRow   = 22
	chartTop   = 20 // room for the axis' labels
)

// chart is the timeline chart: one bar per step, on one time axis.
type chart struct {
	Width, Height int
	// LabelX is where the step names end; BarHeight is each bar's.
	LabelX, BarHeight int
	Bars              []bar
	// Contained marks the moment of containment, when it has come.
	Contained *marker
	// Decisions mark each decision on the axis.
	Decisions []marker
	Ticks     []marker
}

// bar is one step's row.
type bar struct {
	Step, Kind, Status string
	// Class styles the bar: its status, and "wait" for a human gate.
	Class    string
	Y, TextY int
	X, W     float64
	Title    string
}

// marker is a labelled moment on the time axis.
type marker struct {
	X     float64
	Label string
}

// newChart lays out inc's steps from its opening to its end, or to now
// while it runs.
func newChart(inc incident.Incident, now time.Time) chart {
	t0 := inc.OpenedAt
	t1 := now
	if inc.ClosedAt != nil {
		t1 = *inc.ClosedAt
	}
	for _, s := range inc.Steps {
		if s.StartedAt != nil && s.StartedAt.Before(t0) {
			t0 = *s.StartedAt
		}
		if s.FinishedAt != nil && s.FinishedAt.After(t1) {
			t1 = *s.FinishedAt
		}
	}
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Second
	}
	x := func(t time.Time) float64 {
		return float64(chartLabel) + float64(t.Sub(t0))/float64(span)*chartPlot
	}
	c := chart{Width: chartLabel + chartPlot + chartPad, Height: chartTop + chartRow*len(inc.Steps) + chartPad,
		LabelX: chartLabel - 6, BarHeight: chartRow - 6}
	for i, s := range inc.Steps {
		b := bar{Step: s.ID, Kind: s.Kind, Status: s.Status, Class: s.Status, Y: chartTop + i*chartRow + 3,
			TextY: chartTop + i*chartRow + 15}
		if s.Kind == "approval" {
			b.Class += " wait"
		}
		b.Title = fmt.Sprintf("%s (%s): %s", s.ID, s.Kind, s.Status)
		if s.StartedAt != nil {
			end := now
			if s.FinishedAt != nil {
				end = *s.FinishedAt
			}
			if end.Before(*s.StartedAt) {
				end = *s.StartedAt
			}
			b.X = x(*s.StartedAt)
			b.W = max(x(end)-b.X, 2)
			b.Title += ", " + took(s.StartedAt, &end)
		} else {
			b.X = chartLabel
		}
		c.Bars = append(c.Bars, b)
	}
	if inc.ContainedAt != nil {
		c.Contained = &marker{X: x(*inc.ContainedAt), Label: "contained " + inc.TimeToContain().Round(time.Millisecond).String()}
	}
	for _, d := range inc.Decisions {
		c.Decisions = append(c.Decisions, marker{X: x(d.At), Label: d.Decision + " by " + d.Approver})
	}
	for k := 0; k <= 4; k++ {
		at := t0.Add(span * time.Duration(k) / 4)
		c.Ticks = append(c.Ticks, marker{X: x(at), Label: "+" + at.Sub(t0).Round(span/100+time.Millisecond).String()})
	}
	return c
}
