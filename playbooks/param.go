package playbooks

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Parameter types.
const (
	// ParamString is a string, optionally limited by the parameter's Enum.
	ParamString = "string"
	// ParamBool is true or false.
	ParamBool = "bool"
	// ParamInt is a whole number.
	ParamInt = "int"
	// ParamDuration is a Go duration string such as "90s", stored in its
	// canonical form ("1m30s"); read it with Step.Duration.
	ParamDuration = "duration"
	// ParamStrings is a list of strings.
	ParamStrings = "strings"
)

var paramTypes = []string{ParamString, ParamBool, ParamInt, ParamDuration, ParamStrings}

// coerce checks v against the parameter's type and enum and returns it in
// normalised form: string, bool, int, canonical duration string or []string.
func (p Param) coerce(v any) (any, error) {
	switch p.Type {
	case ParamString:
		s, ok := v.(string)
		if !ok {
			return nil, p.wrongType(v)
		}
		return s, p.checkEnum(s)
	case ParamBool:
		b, ok := v.(bool)
		if !ok {
			return nil, p.wrongType(v)
		}
		return b, nil
	case ParamInt:
		i, ok := toInt(v)
		if !ok {
			return nil, p.wrongType(v)
		}
		return i, nil
	case ParamDuration:
		return p.coerceDuration(v)
	case ParamStrings:
		return p.coerceStrings(v)
	}
	return nil, fmt.Errorf("unknown type %q", p.Type)
}

// coerceDuration accepts a duration string (or a time.Duration, from Go
// code) and returns its canonical string.
func (p Param) coerceDuration(v any) (any, error) {
	var d time.Duration
	switch v := v.(type) {
	case time.Duration:
		d = v
	case string:
		pd, err := parseDuration(v)
		if err != nil {
			return nil, err
		}
		d = time.Duration(pd)
	default:
		return nil, p.wrongType(v)
	}
	if d < 0 {
		return nil, fmt.Errorf("negative duration %s", d)
	}
	return d.String(), nil
}

// coerceStrings accepts a list of strings, each within the enum if any.
func (p Param) coerceStrings(v any) (any, error) {
	if list, ok := v.([]any); ok {
		for i, e := range list {
			if _, ok := e.(string); !ok {
				return nil, fmt.Errorf("want strings, got %s in item %d", typeName(e), i+1)
			}
		}
	}
	ss, ok := toStrings(v)
	if !ok {
		return nil, p.wrongType(v)
	}
	ss = slices.Clone(ss)
	for _, s := range ss {
		if err := p.checkEnum(s); err != nil {
			return nil, err
		}
	}
	return ss, nil
}

// checkEnum reports a value outside the parameter's enum.
func (p Param) checkEnum(s string) error {
	if len(p.Enum) == 0 || slices.Contains(p.Enum, s) {
		return nil
	}
	return fmt.Errorf("%q not one of %s", s, strings.Join(p.Enum, ", "))
}

// wrongType reports a value of the wrong type, e.g. "want bool, got string".
func (p Param) wrongType(v any) error {
	return fmt.Errorf("want %s, got %s", p.Type, typeName(v))
}

// typeName names v's type in YAML's terms.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case int, int64, uint64:
		return "int"
	case float64:
		return "float"
	case []any, []string:
		return "list"
	case map[string]any, map[any]any:
		return "mapping"
	}
	return fmt.Sprintf("%T", v)
}

// applyParams checks the step's parameters against the kind's, normalises
// them and fills in defaults. It returns the problems, e.g.
// "param export: want bool, got string".
func (s *Step) applyParams(k Kind) []string {
	var msgs []string
	out := make(map[string]any, len(k.Params))
	for _, name := range slices.Sorted(maps.Keys(s.With)) {
		if !slices.ContainsFunc(k.Params, func(p Param) bool { return p.Name == name }) {
			msgs = append(msgs, fmt.Sprintf("param %s: unknown (%s)", name, knownParams(k)))
			out[name] = s.With[name] // keep it as written; the step is invalid anyway
		}
	}
	for _, p := range k.Params {
		v := s.With[p.Name]
		if v == nil {
			v = p.Default
		}
		if v == nil {
			if p.Required {
				msgs = append(msgs, fmt.Sprintf("param %s: required", p.Name))
			}
			continue
		}
		cv, err := p.coerce(v)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("param %s: %v", p.Name, err))
			cv = v
		}
		out[p.Name] = cv
	}
	s.With = out
	if len(out) == 0 {
		s.With = nil
	}
	return msgs
}

// knownParams lists a kind's parameter names for an error message.
func knownParams(k Kind) string {
	if len(k.Params) == 0 {
		return "kind takes no params"
	}
	names := make([]string, len(k.Params))
	for i, p := range k.Params {
		names[i] = p.Name
	}
	return "known: " + strings.Join(names, ", ")
}
