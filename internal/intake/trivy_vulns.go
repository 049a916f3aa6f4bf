package intake

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/quell-ir/quell/internal/alert"
)

// trivySeverity normalises a Trivy severity to one of alert.Severities:
// lower-cased, and "unknown" for anything unrecognised.
func trivySeverity(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if slices.Contains(alert.Severities, s) {
		return s
	}
	return alert.Severities[0]
}

// trivyRank orders normalised severities: 0 for "unknown", up to 4 for
// "critical".
func trivyRank(sev string) int {
	return max(slices.Index(alert.Severities, sev), 0)
}

// summarizeTrivy counts the findings of every result by severity, once per
// vulnerability ID and package (the first seen is kept), and lists the
// most severe. Counts and Fixable hold every severity, zeros included.
func summarizeTrivy(results []trivyResult) *alert.Vulnerabilities {
	v := &alert.Vulnerabilities{Counts: map[string]int{}, Fixable: map[string]int{}}
	for _, sev := range alert.Severities {
		v.Counts[sev], v.Fixable[sev] = 0, 0
	}
	type key struct{ id, pkg string }
	seen := map[key]bool{}
	var all []alert.Vulnerability
	for _, r := range results {
		for _, f := range r.Vulnerabilities {
			if f == nil || seen[key{f.VulnerabilityID, f.PkgName}] {
				continue
			}
			seen[key{f.VulnerabilityID, f.PkgName}] = true
			sev := trivySeverity(f.Severity)
			v.Counts[sev]++
			if f.FixedVersion != "" {
				v.Fixable[sev]++
			}
			all = append(all, alert.Vulnerability{
				ID:               f.VulnerabilityID,
				Package:          f.PkgName,
				InstalledVersion: f.InstalledVersion,
				FixedVersion:     f.FixedVersion,
				Severity:         sev,
				Title:            f.Title,
			})
		}
	}
	// Most severe first, then by ID; the package breaks ties so that the
	// order never depends on the report's.
	slices.SortFunc(all, func(a, b alert.Vulnerability) int {
		return cmp.Or(
			cmp.Compare(trivyRank(b.Severity), trivyRank(a.Severity)),
			cmp.Compare(a.ID, b.ID),
			cmp.Compare(a.Package, b.Package),
		)
	})
	if len(all) > alert.MaxTopVulnerabilities {
		all = all[:alert.MaxTopVulnerabilities]
	}
	v.Top = all
	return v
}

// keepTop makes the text of v's top findings safe and cuts it: IDs,
// packages and versions to MaxShortText, titles to MaxTitle.
func keepTop(v *alert.Vulnerabilities, k *keeper) {
	for i := range v.Top {
		f := &v.Top[i]
		at := func(name string) string { return fmt.Sprintf("vulnerabilities.top[%d].%s", i, name) }
		f.ID = k.text(at("id"), f.ID, MaxShortText)
		f.Package = k.text(at("package"), f.Package, MaxShortText)
		f.InstalledVersion = k.text(at("installed_version"), f.InstalledVersion, MaxShortText)
		f.FixedVersion = k.text(at("fixed_version"), f.FixedVersion, MaxShortText)
		f.Title = k.text(at("title"), f.Title, MaxTitle)
	}
}

// highestTrivySeverity returns the most severe severity with a finding,
// or "" when there are none.
func highestTrivySeverity(v *alert.Vulnerabilities) string {
	for _, sev := range slices.Backward(alert.Severities) {
		if v.Counts[sev] > 0 {
			return sev
		}
	}
	return ""
}

// trivyPriority maps the most severe finding to the alert's priority; a
// scan with no findings is informational.
func trivyPriority(sev string) alert.Priority {
	switch sev {
	case "critical":
		return alert.Critical
	case "high":
		return alert.Error
	case "medium":
		return alert.Warning
	case "low":
		return alert.Notice
	}
	return alert.Informational
}

// trivyOutput is the alert's human line, e.g.
// "alpine:3.9: 3 vulnerabilities (critical 2, low 1), 2 fixable", or
// "alpine:3.9: no vulnerabilities".
func trivyOutput(image string, v *alert.Vulnerabilities) string {
	total, fixable := 0, 0
	var parts []string
	for _, sev := range slices.Backward(alert.Severities) {
		if n := v.Counts[sev]; n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%s %d", sev, n))
		}
		fixable += v.Fixable[sev]
	}
	if total == 0 {
		return image + ": no vulnerabilities"
	}
	noun := "vulnerabilities"
	if total == 1 {
		noun = "vulnerability"
	}
	return fmt.Sprintf("%s: %d %s (%s), %d fixable", image, total, noun, strings.Join(parts, ", "), fixable)
}
