package playbooks

import (
	"encoding/json"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML and JSON as a Go duration
// string such as "30s" or "1h30m". Numbers are refused: a bare 30 could mean
// seconds or nanoseconds.
type Duration time.Duration

// String returns the duration in time.Duration's canonical form, e.g. "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as its canonical string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string; any other JSON value is an error.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string like \"30s\", got %s", b)
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration as its canonical string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration string. Its errors are *yaml.TypeError
// carrying the node's line, so that the decoder reports them with the rest.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return lineError(n, "invalid duration %s: want a string like \"30s\"", nodeText(n))
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return lineError(n, "%v", err)
	}
	*d = v
	return nil
}

// parseDuration reads s with time.ParseDuration and words its error for
// playbook authors.
func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. \"30s\", \"5m\", \"1h30m\")", s)
	}
	return Duration(v), nil
}

// lineError returns a *yaml.TypeError for node n, which the YAML decoder
// collects with its own errors, line number included.
func lineError(n *yaml.Node, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}

// nodeText describes a node briefly for an error message.
func nodeText(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "(a list)"
	case yaml.MappingNode:
		return "(a mapping)"
	}
	if n.ShortTag() == "!!str" {
		return fmt.Sprintf("%q", n.Value)
	}
	return n.Value
}
