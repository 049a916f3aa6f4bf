package alert

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Priority is a syslog-style severity, from Debug (lowest) to Emergency
// (highest), as Falco names them.
type Priority int

// Priorities, lowest first. AlertPriority is Falco's "Alert" level (the name Alert is the type).
const (
	Debug Priority = iota
	Informational
	Notice
	Warning
	Error
	Critical
	AlertPriority
	Emergency
)

var priorityNames = []string{"debug", "informational", "notice", "warning", "error", "critical", "alert", "emergency"}

// ParsePriority reads a priority name, case-insensitively; "info" and
// "warn" are accepted as Falco accepts them.
func ParsePriority(s string) (Priority, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	switch name {
	case "info":
		name = "informational"
	case "warn":
		name = "warning"
	}
	for i, n := range priorityNames {
		if n == name {
			return Priority(i), nil
		}
	}
	return 0, fmt.Errorf("unknown priority %q (want one of %s)", s, strings.Join(priorityNames, ", "))
}

// String returns the priority's lower-case name.
func (p Priority) String() string {
	if p < 0 || int(p) >= len(priorityNames) {
		return fmt.Sprintf("priority(%d)", int(p))
	}
	return priorityNames[p]
}

// MarshalJSON writes the priority as its name.
func (p Priority) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// UnmarshalJSON reads a priority name.
func (p *Priority) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("priority: %w", err)
	}
	v, err := ParsePriority(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalText writes the priority as its name (for YAML and map keys).
func (p Priority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a priority name.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
