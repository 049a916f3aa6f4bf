// Package intake turns detectors' alert payloads into the normalised
// alert.Alert that the rest of quell reads.
package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// jsonSpace holds the bytes JSON treats as whitespace between tokens.
const jsonSpace = " \t\r\n"

// ParseFalco reads one Falco alert, as Falco's json_output and http_output
// write it or as Falcosidekick forwards it, and normalises it. Every error
// starts with "falco alert: ". The rule, priority and time are required;
// unknown top-level keys are ignored.
func ParseFalco(body []byte, receivedAt time.Time) (alert.Alert, error) {
	if len(bytes.Trim(body, jsonSpace)) == 0 {
		return alert.Alert{}, errors.New("falco alert: empty body")
	}
	obj, err := decodeObject(body)
	if err != nil {
		return alert.Alert{}, err
	}
	sum := sha256.Sum256(body)
	a := alert.Alert{
		Source:     "falco",
		Digest:     "sha256:" + hex.EncodeToString(sum[:]),
		ReceivedAt: receivedAt.UTC(),
	}
	if err := errors.Join(readRequired(obj, &a), readOptional(obj, &a)); err != nil {
		return alert.Alert{}, err
	}
	a.Target = falcoTarget(a.Fields, a.Hostname)
	return a, nil
}

// decodeObject decodes body as exactly one JSON object, keeping numbers as
// json.Number so that no precision is lost.
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("falco alert: invalid JSON at offset %d: %w", syntax.Offset, err)
		}
		return nil, fmt.Errorf("falco alert: invalid JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("falco alert: invalid JSON: want an object, got %s", jsonType(v))
	}
	end := dec.InputOffset()
	if rest := bytes.TrimLeft(body[end:], jsonSpace); len(rest) > 0 {
		return nil, fmt.Errorf("falco alert: invalid JSON at offset %d: data after the object", len(body)-len(rest))
	}
	return obj, nil
}

// requiredFields are the keys every Falco alert must carry, in the order
// a "missing" error names them, with the setter that reads each.
var requiredFields = []struct {
	key string
	set func(a *alert.Alert, v any) error
}{
	{"rule", setRule},
	{"priority", setPriority},
	{"time", setTime},
}

// readRequired sets the rule, priority and time. It names every missing
// field in one error, joined with an error for each invalid one.
func readRequired(obj map[string]any, a *alert.Alert) error {
	var missing []string
	var errs []error
	for _, f := range requiredFields {
		v := obj[f.key]
		if s, ok := v.(string); v == nil || (ok && strings.TrimSpace(s) == "") {
			missing = append(missing, f.key)
			continue
		}
		if err := f.set(a, v); err != nil {
			errs = append(errs, err)
		}
	}
	if len(missing) > 0 {
		err := fmt.Errorf("falco alert: missing %s", strings.Join(missing, ", "))
		errs = append([]error{err}, errs...)
	}
	return errors.Join(errs...)
}

// setRule reads the rule's name.
func setRule(a *alert.Alert, v any) error {
	s, err := asString("rule", v)
	a.Rule = s
	return err
}

// setPriority reads the priority's name.
func setPriority(a *alert.Alert, v any) error {
	s, err := asString("priority", v)
	if err != nil {
		return err
	}
	p, err := alert.ParsePriority(s)
	if err != nil {
		return fmt.Errorf("falco alert: %w", err)
	}
	a.Priority = p
	return nil
}

// setTime reads Falco's time: an RFC 3339 string, or a JSON number of
// nanoseconds since the epoch. The result is in UTC.
func setTime(a *alert.Alert, v any) error {
	var t time.Time
	switch v := v.(type) {
	case string:
		var err error
		if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return fmt.Errorf("falco alert: invalid time %q (want RFC 3339)", v)
		}
		if t = t.UTC(); t.IsZero() || t.Year() < 1 || t.Year() > 9999 {
			return fmt.Errorf("falco alert: time %q out of range", v)
		}
	case json.Number:
		ns, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("falco alert: invalid time %s (want integer nanoseconds since the epoch)", v)
		}
		t = time.Unix(0, ns)
	default:
		return fmt.Errorf("falco alert: time: want a string or number, got %s", jsonType(v))
	}
	a.Time = t.UTC()
	return nil
}

// readOptional sets the fields an alert may leave out. A JSON null counts
// as absent; a value of the wrong type is an error.
func readOptional(obj map[string]any, a *alert.Alert) error {
	var errs []error
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"uuid", &a.DetectorID},
		{"output", &a.Output},
		{"hostname", &a.Hostname},
		{"source", &a.EventSource},
	} {
		s, err := asString(f.key, obj[f.key])
		*f.dst = s
		errs = append(errs, err)
	}
	a.EventSource = eventSource(a.EventSource)
	var err error
	a.Tags, err = asStrings("tags", obj["tags"])
	errs = append(errs, err)
	a.Fields, err = outputFields(obj["output_fields"])
	errs = append(errs, err)
	return errors.Join(errs...)
}

// eventSource normalises Falco's event source: Falco writes "syscall",
// Falcosidekick's tests "syscalls", and an alert without one is a syscall.
func eventSource(s string) string {
	switch s {
	case "", "syscall", "syscalls":
		return "syscall"
	}
	return s
}
