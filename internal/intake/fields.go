package intake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"
)

// digest is "sha256:<hex>" of a raw payload.
func digest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// jsonSize is the length of v's JSON encoding; 0 for a nil map.
func jsonSize(vs ...any) int {
	n := 0
	for _, v := range vs {
		if b, err := json.Marshal(v); err == nil {
			n += len(b)
		}
	}
	return n
}

// asString reads an optional string; null or absent is "".
func asString(payload, key string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fieldProblem(payload, key, "want a string, got %s", jsonType(v))
	}
	return s, nil
}

// readTags reads an optional array of at most MaxTags strings, each kept
// safe and cut to MaxTag; null, absent or empty is nil.
func readTags(payload, key string, v any, k *keeper) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fieldProblem(payload, key, "want an array of strings, got %s", jsonType(v))
	}
	if len(list) > MaxTags {
		return nil, tooLarge(payload, key, "%d tags, at most %d", len(list), MaxTags)
	}
	var out []string
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fieldProblem(payload, fmt.Sprintf("%s[%d]", key, i), "want a string, got %s", jsonType(item))
		}
		out = append(out, k.text(fmt.Sprintf("tags[%d]", i), s, MaxTag))
	}
	return out, nil
}

// outputFields converts Falco's output_fields (see convertFields).
func outputFields(v any, k *keeper) (map[string]any, error) {
	return convertFields(falcoPayload, "output_fields", v, k)
}

// convertFields converts a detector's fields: nulls are dropped, integers
// that fit become int64 and other numbers float64, strings are kept safe
// and cut (see keeper.value), and names are checked. At most MaxFields
// values, nested ones counted. Null, absent or empty is nil.
func convertFields(payload, key string, v any, k *keeper) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fieldProblem(payload, key, "want an object, got %s", jsonType(v))
	}
	c := converter{payload: payload, keeper: k}
	out, err := c.object(obj, key, "fields")
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return out, nil
}

// converter converts one collection of fields, counting its values.
type converter struct {
	payload string
	keeper  *keeper
	values  int
}

// object converts each value of obj, dropping nulls; path names obj in
// the payload for errors and kept in the alert for cuts.
func (c *converter) object(obj map[string]any, path, kept string) (map[string]any, error) {
	out := make(map[string]any, len(obj))
	for _, name := range slices.Sorted(maps.Keys(obj)) { // sorted, so errors are repeatable
		v := obj[name]
		if v == nil {
			continue
		}
		at, keptAt := path+"["+strconv.Quote(name)+"]", kept+"["+strconv.Quote(name)+"]"
		if err := checkName(c.payload, path, name); err != nil {
			return nil, err
		}
		if err := c.count(path); err != nil {
			return nil, err
		}
		if s, ok := v.(string); ok {
			c.keeper.value(keptAt, s, func(s string) { out[name] = s })
			continue
		}
		conv, err := c.convert(v, at, keptAt)
		if err != nil {
			return nil, err
		}
		out[name] = conv
	}
	return out, nil
}

// count counts one value, refusing more than MaxFields.
func (c *converter) count(path string) error {
	if c.values++; c.values > MaxFields {
		return tooLarge(c.payload, path, "more than %d values", MaxFields)
	}
	return nil
}

// convert turns a value decoded with UseNumber into int64, float64,
// string, bool, []any or map[string]any. Nulls inside arrays are kept so
// that positions do not shift.
func (c *converter) convert(v any, path, kept string) (any, error) {
	switch v := v.(type) {
	case json.Number:
		return convertNumber(c.payload, v, path)
	case map[string]any:
		return c.object(v, path, kept)
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			if err := c.count(path); err != nil {
				return nil, err
			}
			if item == nil {
				continue
			}
			at, keptAt := fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("%s[%d]", kept, i)
			if s, ok := item.(string); ok {
				c.keeper.value(keptAt, s, func(s string) { out[i] = s })
				continue
			}
			conv, err := c.convert(item, at, keptAt)
			if err != nil {
				return nil, err
			}
			out[i] = conv
		}
		return out, nil
	}
	return v, nil
}

// convertNumber keeps an integer as int64 when it fits, so 19-digit
// nanosecond times survive, and makes any other number a float64.
func convertNumber(payload string, n json.Number, path string) (any, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	// A valid JSON number fails ParseFloat only when it overflows to ±Inf,
	// which could not be written back as JSON.
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, fieldProblem(payload, path, "number %s out of range", quoteNumber(n))
	}
	return f, nil
}

// checkName refuses a field, label or annotation name that is empty,
// longer than MaxNameLen or holds control characters; path names the
// collection.
func checkName(payload, path, name string) error {
	switch {
	case name == "":
		return fieldProblem(payload, path, "empty name")
	case len(name) > MaxNameLen:
		return fieldProblem(payload, path, "name %s longer than %d bytes", quote(name), MaxNameLen)
	case !utf8.ValidString(name):
		return fieldProblem(payload, path, "name %s is not UTF-8", quote(name))
	}
	for _, r := range name {
		if visible(r) != "" {
			return fieldProblem(payload, path, "name %s holds control characters", quote(name))
		}
	}
	return nil
}
