package playbooks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/quell-ir/quell/internal/alert"
)

// playbookYAML is the YAML form of a Playbook. It differs only in its
// Match, whose priority reports a bad value with its line.
type playbookYAML struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Match       matchYAML `yaml:"match"`
	Steps       []Step    `yaml:"steps"`
	DryRun      bool      `yaml:"dry_run"`
}

// matchYAML is the YAML form of a Match.
type matchYAML struct {
	Source         string            `yaml:"source"`
	Target         string            `yaml:"target"`
	MinPriority    priorityYAML      `yaml:"min_priority"`
	Rules          []string          `yaml:"rules"`
	Tags           []string          `yaml:"tags"`
	RequiredFields []string          `yaml:"required_fields"`
	MinSeverity    string            `yaml:"min_severity"`
	MinCount       int               `yaml:"min_count"`
	Fixable        bool              `yaml:"fixable"`
	Labels         map[string]string `yaml:"labels"`
	When           string            `yaml:"when"`
}

// priorityYAML is an alert.Priority whose decoding errors carry their line
// (alert.Priority's UnmarshalText errors reach the caller without one).
type priorityYAML alert.Priority

// UnmarshalYAML reads a priority name.
func (p *priorityYAML) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineError(n, "min_priority: want a priority name, got %s", nodeText(n))
	}
	v, err := alert.ParsePriority(n.Value)
	if err != nil {
		return lineError(n, "min_priority: %v", err)
	}
	*p = priorityYAML(v)
	return nil
}

// Parse decodes one playbook from YAML, strictly, then validates it with
// Validate (which applies defaults). Every error starts with file and,
// where known, the line: "compromised.yaml:7: unknown field "foo" in step".
// Several problems are joined with errors.Join.
func Parse(file string, data []byte, reg *Registry) (Playbook, error) {
	var doc playbookYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Playbook{}, fmt.Errorf("%s: empty playbook", file)
		}
		return Playbook{}, decodeError(file, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return Playbook{}, fmt.Errorf("%s: more than one YAML document (want one playbook per file)", file)
	}
	m := doc.Match
	p := Playbook{
		Name:        doc.Name,
		Description: doc.Description,
		Match: Match{
			Source: m.Source, Target: m.Target, MinPriority: alert.Priority(m.MinPriority),
			Rules: m.Rules, Tags: m.Tags, RequiredFields: m.RequiredFields,
			MinSeverity: m.MinSeverity, MinCount: m.MinCount, Fixable: m.Fixable, Labels: m.Labels,
			When: m.When,
		},
		Steps:  doc.Steps,
		DryRun: doc.DryRun,
		File:   file,
		Digest: ContentDigest(data),
	}
	if err := p.Validate(reg); err != nil {
		return Playbook{}, locate(file, data, err)
	}
	return p, nil
}

var (
	yamlLine     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	typeNames    = strings.NewReplacer(
		reflect.TypeFor[playbookYAML]().String(), "playbook",
		reflect.TypeFor[matchYAML]().String(), "match",
		reflect.TypeFor[Step]().String(), "step",
		reflect.TypeFor[Retry]().String(), "retry",
	)
)

// decodeError rewords the YAML library's errors as "file:line: message",
// one joined error per problem.
func decodeError(file string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s", withFile(file, err.Error()))
	}
	errs := make([]error, len(te.Errors))
	for i, msg := range te.Errors {
		errs[i] = fmt.Errorf("%s", withFile(file, msg))
	}
	return errors.Join(errs...)
}

// withFile turns one YAML library message, "[yaml: ]line N: text", into
// "file:N: text", with Go type names replaced by the playbook's words.
func withFile(file, msg string) string {
	prefix := file
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		prefix, msg = file+":"+m[1], m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("unknown field %q in %s", m[1], m[2])
	}
	return prefix + ": " + typeNames.Replace(msg)
}

// locate prefixes each validation problem in err with file and the line of
// the step or match it is about.
func locate(file string, data []byte, err error) error {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return fmt.Errorf("%s: %w", file, err)
	}
	doc := root.Content[0]
	var errs []error
	for _, e := range unjoin(err) {
		prefix := file
		var p *problem
		if errors.As(e, &p) {
			if line := problemLine(doc, p); line > 0 {
				prefix += ":" + strconv.Itoa(line)
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", prefix, e))
	}
	return errors.Join(errs...)
}

// problemLine returns the line of the step or match a problem is about, or
// 0 when there is none.
func problemLine(doc *yaml.Node, p *problem) int {
	switch {
	case p.match:
		if k := mappingKey(doc, "match"); k != nil {
			return k.Line
		}
	case p.step >= 0:
		if k := mappingKey(doc, "steps"); k != nil {
			if steps := mappingValue(doc, k); steps != nil && p.step < len(steps.Content) {
				return steps.Content[p.step].Line
			}
		}
	}
	return 0
}

// mappingKey returns the key node named key in mapping n, or nil.
func mappingKey(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

// mappingValue returns the value node that follows key node k in mapping n.
func mappingValue(n, k *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i] == k {
			return n.Content[i+1]
		}
	}
	return nil
}

// unjoin returns the errors joined in err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// ContentDigest is the digest a playbook's Digest records of its file.
func ContentDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
