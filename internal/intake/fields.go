package intake

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/quell-ir/quell/internal/alert"
)

// notAvailable is what Falco prints for a field it has no value for.
const notAvailable = "<NA>"

// asString reads an optional string; null or absent is "".
func asString(key string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("falco alert: %s: want a string, got %s", key, jsonType(v))
	}
	return s, nil
}

// asStrings reads an optional array of strings; null, absent or empty is nil.
func asStrings(key string, v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("falco alert: %s: want an array of strings, got %s", key, jsonType(v))
	}
	var out []string
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("falco alert: %s[%d]: want a string, got %s", key, i, jsonType(item))
		}
		out = append(out, s)
	}
	return out, nil
}

// outputFields converts Falco's output_fields: nulls are dropped, integers
// that fit become int64 and other numbers float64. Null, absent or empty
// is nil.
func outputFields(v any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("falco alert: output_fields: want an object, got %s", jsonType(v))
	}
	out, err := convertObject(obj, "output_fields")
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return out, nil
}

// convertObject converts each value of obj, dropping nulls; path names obj
// in errors.
func convertObject(obj map[string]any, path string) (map[string]any, error) {
	out := make(map[string]any, len(obj))
	for _, k := range slices.Sorted(maps.Keys(obj)) { // sorted, so errors are repeatable
		v := obj[k]
		if v == nil {
			continue
		}
		c, err := convert(v, path+"["+strconv.Quote(k)+"]")
		if err != nil {
			return nil, err
		}
		out[k] = c
	}
	return out, nil
}

// convert turns a value decoded with UseNumber into int64, float64,
// string, bool, []any or map[string]any. Nulls inside arrays are kept so
// that positions do not shift.
func convert(v any, path string) (any, error) {
	switch v := v.(type) {
	case json.Number:
		return convertNumber(v, path)
	case map[string]any:
		return convertObject(v, path)
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			if item == nil {
				continue
			}
			c, err := convert(item, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return v, nil
}

// convertNumber keeps an integer as int64 when it fits, so 19-digit
// nanosecond times survive, and makes any other number a float64.
func convertNumber(n json.Number, path string) (any, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	// A valid JSON number fails ParseFloat only when it overflows to ±Inf,
	// which could not be written back as JSON.
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, fmt.Errorf("falco alert: %s: number %s out of range", path, n)
	}
	return f, nil
}

// falcoTarget names the container an alert is about, from its output
// fields; host events (container.id "host") and alerts without a container
// have no target.
func falcoTarget(fields map[string]any, hostname string) alert.Target {
	id := fieldString(fields, "container.id")
	if id == "" || id == "host" {
		return alert.Target{}
	}
	return alert.Target{
		Kind:          alert.KindDocker,
		Host:          hostname,
		ContainerID:   id,
		ContainerName: strings.TrimPrefix(fieldString(fields, "container.name"), "/"),
		Image:         falcoImage(fields),
		Namespace:     fieldString(fields, "k8s.ns.name"),
		Pod:           fieldString(fields, "k8s.pod.name"),
	}
}

// falcoImage builds the image reference from the repository and tag, or
// takes container.image when the repository is not given.
func falcoImage(fields map[string]any) string {
	repo := fieldString(fields, "container.image.repository")
	if repo == "" {
		return fieldString(fields, "container.image")
	}
	if tag := fieldString(fields, "container.image.tag"); tag != "" {
		return repo + ":" + tag
	}
	return repo
}

// fieldString returns a string output field, or "" when it is absent, not
// a string, or Falco's "<NA>".
func fieldString(fields map[string]any, key string) string {
	s, _ := fields[key].(string)
	if s == notAvailable {
		return ""
	}
	return s
}

// jsonType names the JSON type of a value decoded with UseNumber.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
