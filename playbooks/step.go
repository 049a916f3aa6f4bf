package playbooks

import (
	"bytes"
	"encoding/json"
	"math"
)

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
