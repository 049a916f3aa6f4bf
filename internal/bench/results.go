package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Baseline kinds: a floor is the least any responder must do (the raw
// Docker API); a peer is another way users respond today.
const (
	KindFloor = "floor"
	KindPeer  = "peer"
)

// Result is one figure of the benchmark, as bench/results.json holds it.
type Result struct {
	// Name says what was measured.
	Name string `json:"name"`
	// Unit is the unit of Quell and Baseline: "ms", "s", "MiB/s", "alerts/s", "MiB".
	Unit string `json:"unit"`
	// Quell is quell's figure.
	Quell float64 `json:"quell"`
	// Baseline is the figure quell is compared with, if any.
	Baseline *float64 `json:"baseline"`
	// BaselineKind is KindFloor or KindPeer when there is a baseline.
	BaselineKind string `json:"baseline_kind,omitempty"`
	// Ratio is Quell / Baseline when there is a baseline.
	Ratio *float64 `json:"ratio"`
	// Samples is how many measurements the figure summarises.
	Samples int `json:"samples"`
	// Goal is the goal in words; empty for a figure reported for information.
	Goal string `json:"goal"`
	// Met says whether the goal is met; null without a goal.
	Met *bool `json:"met"`
}

// goal is a target for a figure: its wording and its test on the figure
// (the ratio when there is a baseline, else the value).
type goal struct {
	text string
	ok   func(float64) bool
}

func atMost(x float64, text string) goal  { return goal{text, func(v float64) bool { return v <= x }} }
func atLeast(x float64, text string) goal { return goal{text, func(v float64) bool { return v >= x }} }
func below(x float64, text string) goal   { return goal{text, func(v float64) bool { return v < x }} }

// compared is a figure with a baseline and a goal on their ratio.
func compared(name, unit string, quell, baseline float64, kind string, samples int, g goal) Result {
	r := Result{Name: name, Unit: unit, Quell: quell, Baseline: &baseline, BaselineKind: kind, Samples: samples, Goal: g.text}
	if baseline > 0 {
		ratio := quell / baseline
		r.Ratio = &ratio
		if g.ok != nil {
			met := g.ok(ratio)
			r.Met = &met
		}
	}
	return r
}

// absolute is a figure with a goal on its own value.
func absolute(name, unit string, quell float64, samples int, g goal) Result {
	met := g.ok(quell)
	return Result{Name: name, Unit: unit, Quell: quell, Samples: samples, Goal: g.text, Met: &met}
}

// info is a figure reported without a goal.
func info(name, unit string, quell float64, samples int) Result {
	return Result{Name: name, Unit: unit, Quell: quell, Samples: samples}
}

// WriteJSON writes the results to path, creating its directory.
func WriteJSON(path string, rs []Result) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("results %s: %w", path, err)
	}
	if rs == nil {
		rs = []Result{}
	}
	b, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// PrintTable prints the results as a table: figure | quell | baseline |
// ratio | goal | met.
func PrintTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tquell\tbaseline\tratio\tgoal\tmet\tn")
	for _, r := range rs {
		baseline, ratio, met := "—", "—", "—"
		if r.Baseline != nil {
			baseline = fmt.Sprintf("%s (%s)", value(*r.Baseline, r.Unit), r.BaselineKind)
		}
		if r.Ratio != nil {
			ratio = strconv.FormatFloat(*r.Ratio, 'f', 2, 64) + "×"
		}
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Name, value(r.Quell, r.Unit), baseline, ratio, orDash(r.Goal), met, r.Samples)
	}
	return tw.Flush()
}

// value formats a figure with its unit and a precision that suits it.
func value(v float64, unit string) string {
	prec := 1
	switch {
	case v >= 1000:
		prec = 0
	case v < 10:
		prec = 2
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.HasPrefix(unit, "/") || unit == "" {
		return s + unit
	}
	return s + " " + unit
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
