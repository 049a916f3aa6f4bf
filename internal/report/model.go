package report

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/quell-ir/quell/internal/incident"
)

// SchemaVersion is the version of the JSON report's schema (Schema); it
// changes when a field changes meaning or goes away, not when one is added.
const SchemaVersion = "1"

// Figures are an incident's times, in seconds; each is absent until the
// moment it ends at has come.
type Figures struct {
	// TimeToDetectSeconds runs from the detector's own event time to quell
	// accepting the first alert.
	TimeToDetectSeconds *float64 `json:"time_to_detect_seconds,omitempty"`
	// TimeToContainSeconds runs from accepting the first alert to isolation.
	TimeToContainSeconds *float64 `json:"time_to_contain_seconds,omitempty"`
	// TimeToRecoverSeconds runs from accepting the first alert to the end
	// of the last recovery step that succeeded (a unit replaced, a workload
	// rolled out to the clean image).
	TimeToRecoverSeconds *float64 `json:"time_to_recover_seconds,omitempty"`
	// DurationSeconds runs from accepting the first alert to the end.
	DurationSeconds *float64 `json:"duration_seconds,omitempty"`
}

// Detection summarises the alerts that joined the incident.
type Detection struct {
	// First and Last are the first and the latest alert that joined.
	First *incident.AlertRef `json:"first,omitempty"`
	Last  *incident.AlertRef `json:"last,omitempty"`
	// Count counts every alert that joined, listed or not.
	Count int `json:"count"`
	// PerRule counts the listed alerts by rule (up to incident.MaxAlerts
	// and the latest); Count says how many joined in all.
	PerRule []RuleCount `json:"per_rule"`
}

// RuleCount is how many of the listed alerts a rule raised.
type RuleCount struct {
	Rule  string `json:"rule"`
	Count int    `json:"count"`
}

// recoveryKinds are the step kinds whose success ends recovery: the unit
// runs a clean image again.
var recoveryKinds = []string{"docker:replace", "k8s:rollout"}

// figures measures inc.
func figures(inc incident.Incident) Figures {
	var f Figures
	secs := func(from, to time.Time) *float64 { s := to.Sub(from).Seconds(); return &s }
	if !inc.DetectedAt.IsZero() && !inc.OpenedAt.IsZero() {
		f.TimeToDetectSeconds = secs(inc.DetectedAt, inc.OpenedAt)
	}
	if inc.ContainedAt != nil {
		f.TimeToContainSeconds = secs(inc.OpenedAt, *inc.ContainedAt)
	}
	var recovered *time.Time
	for _, s := range inc.Steps {
		if slices.Contains(recoveryKinds, s.Kind) && s.Status == incident.StepSucceeded && s.FinishedAt != nil {
			if recovered == nil || s.FinishedAt.After(*recovered) {
				recovered = s.FinishedAt
			}
		}
	}
	if recovered != nil {
		f.TimeToRecoverSeconds = secs(inc.OpenedAt, *recovered)
	}
	if inc.ClosedAt != nil {
		f.DurationSeconds = secs(inc.OpenedAt, *inc.ClosedAt)
	}
	return f
}

// detection summarises inc's alerts.
func detection(inc incident.Incident) Detection {
	d := Detection{Count: inc.AlertsCount, PerRule: []RuleCount{}}
	listed := listedAlerts(inc)
	if len(listed) == 0 {
		return d
	}
	d.First, d.Last = &listed[0], &listed[len(listed)-1]
	counts := map[string]int{}
	for _, a := range listed {
		counts[a.Rule]++
	}
	for _, rule := range slices.Sorted(maps.Keys(counts)) {
		d.PerRule = append(d.PerRule, RuleCount{Rule: rule, Count: counts[rule]})
	}
	slices.SortStableFunc(d.PerRule, func(a, b RuleCount) int { return cmp.Compare(b.Count, a.Count) })
	return d
}

// listedAlerts is the alerts the incident kept: the first ones and, past
// them, the latest.
func listedAlerts(inc incident.Incident) []incident.AlertRef {
	listed := slices.Clip(inc.Alerts)
	if inc.AlertsCount > len(inc.Alerts) && inc.LastAlert != nil {
		listed = append(listed, *inc.LastAlert)
	}
	return listed
}

// VerifyCommand is the shell command that checks an artifact's SHA-256
// offline, with nothing but coreutils, from the evidence folder.
func VerifyCommand(a incident.Artifact) string {
	return "echo '" + a.SHA256 + "  " + shellQuoted(a.Path) + "' | sha256sum -c -"
}

// shellQuoted keeps a path inside the command's single quotes: quell makes
// artifact paths of letters, digits and ./_-, but a quote would end them.
func shellQuoted(p string) string {
	out := make([]rune, 0, len(p))
	for _, r := range p {
		if r == '\'' || r < ' ' {
			r = '?'
		}
		out = append(out, r)
	}
	return string(out)
}
