package playbooks

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"time"
)

// String returns the string parameter name, or "" when it is absent or not a
// string.
func (s Step) String(name string) string {
	v, _ := s.With[name].(string)
	return v
}

// Bool returns the bool parameter name, or false when it is absent or not a
// bool.
func (s Step) Bool(name string) bool {
	v, _ := s.With[name].(bool)
	return v
}

// Int returns the int parameter name, or 0 when it is absent or not a whole
// number. It accepts the float64 and json.Number that JSON decoding yields.
func (s Step) Int(name string) int {
	v, _ := toInt(s.With[name])
	return v
}

// Duration returns the duration parameter name, or 0 when it is absent or
// not a valid duration string.
func (s Step) Duration(name string) time.Duration {
	switch v := s.With[name].(type) {
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0
		}
		return d
	case time.Duration:
		return v
	}
	return 0
}

// Strings returns the list-of-strings parameter name, or nil when it is
// absent or not a list of strings; the slice is the caller's. It accepts the
// []any that JSON decoding yields.
func (s Step) Strings(name string) []string {
	v, _ := toStrings(s.With[name])
	return slices.Clone(v)
}

// UnmarshalJSON decodes a step and restores With's values to the types
// Validate leaves there (int rather than float64, []string rather than
// []any), so that a validated step survives a JSON round-trip unchanged.
func (s *Step) UnmarshalJSON(b []byte) error {
	type plain Step // no methods: avoids recursion
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return err
	}
	for k, v := range p.With {
		p.With[k] = fromJSON(v)
	}
	*s = Step(p)
	return nil
}

// fromJSON turns a value decoded from JSON (with UseNumber) back into the
// form a YAML decode and Validate give: whole numbers become int, lists of
// strings []string.
func fromJSON(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil && i >= math.MinInt && i <= math.MaxInt {
			return int(i)
		}
		f, _ := v.Float64()
		return f
	case []any:
		if ss, ok := toStrings(v); ok {
			return ss
		}
		for i := range v {
			v[i] = fromJSON(v[i])
		}
		return v
	case map[string]any:
		for k, e := range v {
			v[k] = fromJSON(e)
		}
		return v
	}
	return v
}

// toInt converts the integer forms YAML, JSON and Go code produce to int.
func toInt(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		if v >= math.MinInt && v <= math.MaxInt {
			return int(v), true
		}
	case uint64:
		if v <= math.MaxInt {
			return int(v), true
		}
	case float64:
		if v == math.Trunc(v) && v >= math.MinInt64 && v < math.MaxInt64 {
			return toInt(int64(v))
		}
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return toInt(i)
		}
	}
	return 0, false
}

// toStrings converts a []string, or a []any holding only strings, to a
// non-nil []string.
func toStrings(v any) ([]string, bool) {
	switch v := v.(type) {
	case []string:
		return v, true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}
