package playbooks

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/quell-ir/quell/internal/alert"
)

// regexPrefix marks a rule pattern as a regular expression.
const regexPrefix = "regex:"

// Target kinds a Match may name.
var targetKinds = []string{alert.KindDocker, alert.KindKubernetes, alert.KindImage}

// targetFields maps the target.* pseudo-fields of RequiredFields to the
// part of the alert's target each names.
var targetFields = map[string]func(alert.Target) string{
	"target.kind":           func(t alert.Target) string { return t.Kind },
	"target.host":           func(t alert.Target) string { return t.Host },
	"target.container_id":   func(t alert.Target) string { return t.ContainerID },
	"target.container_name": func(t alert.Target) string { return t.ContainerName },
	"target.image":          func(t alert.Target) string { return t.Image },
	"target.namespace":      func(t alert.Target) string { return t.Namespace },
	"target.pod":            func(t alert.Target) string { return t.Pod },
}

// Matches reports whether a meets every criterion of m.
func (m Match) Matches(a alert.Alert) bool {
	return a.Source == m.Source &&
		(m.Target == "" || a.Target.Kind == m.Target) &&
		a.Priority >= m.MinPriority &&
		m.matchesRule(a.Rule) &&
		hasAll(a.Tags, m.Tags) &&
		m.hasFields(a) &&
		m.hasLabels(a.Labels) &&
		m.hasFindings(a.Vulnerabilities) &&
		m.whenHolds(a)
}

// whenHolds reports whether m's condition, if any, holds for a; one whose
// evaluation fails (the alert lacks a field it reads) does not.
func (m Match) whenHolds(a alert.Alert) bool {
	if m.When == "" {
		return true
	}
	ok, err := EvalCondition(m.When, Facts{Alert: a})
	return err == nil && ok
}

// hasLabels reports whether every label pattern of m matches the alert's
// label of that name; a label the alert lacks or has empty matches none.
func (m Match) hasLabels(labels map[string]string) bool {
	for name, pat := range m.Labels {
		v := labels[name]
		if v == "" || !ruleMatches(pat, v) {
			return false
		}
	}
	return true
}

// scansFindings reports whether m sets any criterion on an image scan's
// findings.
func (m Match) scansFindings() bool {
	return m.MinSeverity != "" || m.MinCount != 0 || m.Fixable
}

// hasFindings reports whether v holds enough findings for m: with no
// criterion on findings, any alert does; otherwise the alert must carry a
// scan summary with at least max(MinCount, 1) findings at or above
// MinSeverity (only those with a fixed version when Fixable is set).
func (m Match) hasFindings(v *alert.Vulnerabilities) bool {
	if !m.scansFindings() {
		return true
	}
	if v == nil {
		return false
	}
	counts := v.Counts
	if m.Fixable {
		counts = v.Fixable
	}
	floor, n := severityRank(m.MinSeverity), 0
	for sev, c := range counts {
		if severityRank(sev) >= floor {
			n += max(c, 0)
		}
	}
	return n >= max(m.MinCount, 1)
}

// severityRank orders scan severities as alert.Severities does, from 0
// for "unknown" to 4 for "critical"; any other name ranks as "unknown".
func severityRank(sev string) int {
	return max(slices.Index(alert.Severities, sev), 0)
}

// matchesRule reports whether rule matches one of m's rule patterns; with
// none, every rule matches.
func (m Match) matchesRule(rule string) bool {
	if len(m.Rules) == 0 {
		return true
	}
	for _, pat := range m.Rules {
		if ruleMatches(pat, rule) {
			return true
		}
	}
	return false
}

// ruleMatches reports whether rule matches one pattern: "*", a regular
// expression after "regex:", or an exact name or glob.
func ruleMatches(pat, rule string) bool {
	if pat == "*" || pat == rule {
		return true
	}
	if re, ok := strings.CutPrefix(pat, regexPrefix); ok {
		// Validated patterns compile; an invalid one matches nothing.
		r, err := regexp.Compile(re)
		return err == nil && r.MatchString(rule)
	}
	ok, err := path.Match(pat, rule)
	return err == nil && ok
}

// hasAll reports whether every one of want is in have.
func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// hasFields reports whether every required field is present and non-empty
// in a's fields or, for target.* pseudo-fields, in a's target.
func (m Match) hasFields(a alert.Alert) bool {
	for _, f := range m.RequiredFields {
		if get, ok := targetFields[f]; ok {
			if get(a.Target) == "" {
				return false
			}
			continue
		}
		if isEmpty(a.Fields[f]) {
			return false
		}
	}
	return true
}

// isEmpty reports whether a detector field value is missing: nil, an empty
// string, Falco's "<NA>", or an empty list or mapping.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == "" || v == "<NA>"
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// problems returns every problem with m, each starting "match: ".
func (m Match) problems() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, "match: "+fmt.Sprintf(format, args...)) }
	if m.Source == "" {
		add("source required")
	}
	if msg := condProblem("when", m.When); msg != "" {
		add("%s", msg)
	}
	if m.Target != "" && !slices.Contains(targetKinds, m.Target) {
		add("target %q unknown (want %s)", m.Target, oneOf(targetKinds))
	}
	if m.MinPriority < alert.Debug || m.MinPriority > alert.Emergency {
		add("min_priority %s unknown", m.MinPriority)
	}
	for _, r := range m.Rules {
		if err := checkRule(r); err != nil {
			add("rule %q: %v", r, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Labels)) {
		if msg := checkLabel(name, m.Labels[name]); msg != "" {
			add("%s", msg)
		}
	}
	for _, t := range m.Tags {
		if t == "" {
			add("empty tag")
		}
	}
	for _, f := range m.RequiredFields {
		if msg := checkField(f); msg != "" {
			add("%s", msg)
		}
	}
	if m.MinSeverity != "" && !slices.Contains(alert.Severities, m.MinSeverity) {
		add("min_severity %q: want one of %s", m.MinSeverity, strings.Join(alert.Severities, ", "))
	}
	if m.MinCount < 0 {
		add("min_count %d is negative", m.MinCount)
	}
	return out
}

// oneOf lists names as alternatives: "a", "a or b", "a, b or c".
func oneOf(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// checkRule reports an empty rule pattern, a bad glob or a regular
// expression that does not compile.
func checkRule(r string) error {
	if r == "" || r == regexPrefix {
		return fmt.Errorf("empty pattern")
	}
	if re, ok := strings.CutPrefix(r, regexPrefix); ok {
		_, err := regexp.Compile(re)
		return err
	}
	_, err := path.Match(r, "")
	return err
}

// checkLabel returns a problem with a label matcher, or "".
func checkLabel(name, pat string) string {
	if name == "" {
		return fmt.Sprintf("label with an empty name (pattern %q)", pat)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Sprintf("label %q: name holds control characters", name)
	}
	if err := checkRule(pat); err != nil {
		return fmt.Sprintf("label %q: pattern %q: %v", name, pat, err)
	}
	return ""
}

// checkField returns a problem with a required field name, or "".
func checkField(f string) string {
	if f == "" {
		return "empty required field"
	}
	if _, ok := targetFields[f]; ok || !strings.HasPrefix(f, "target.") {
		return ""
	}
	names := make([]string, 0, len(targetFields))
	for n := range targetFields {
		names = append(names, n)
	}
	slices.Sort(names)
	return fmt.Sprintf("required field %q unknown (target fields: %s)", f, strings.Join(names, ", "))
}
