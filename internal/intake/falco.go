package intake

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// falcoPayload names Falco alerts in errors.
const falcoPayload = "falco alert"

// ParseFalco reads one Falco alert, as Falco's json_output and http_output
// write it or as Falcosidekick forwards it, and normalises it. The rule,
// priority and time are required; unknown top-level keys are ignored.
//
// The target is the pod when k8s.ns.name and k8s.pod.name are set (the
// container ID kept too), the container when container.id is, and for a
// k8s_audit alert the object its ka.target.* fields name (a pod target
// only when the resource is pods). Every name is validated; free text is
// escaped and cut (see the package doc). Errors are *Error values with
// Payload "falco alert", joined when there are several.
func ParseFalco(body []byte, receivedAt time.Time) (alert.Alert, error) {
	var obj map[string]any
	if err := decodeBody(falcoPayload, body, &obj, false); err != nil {
		return alert.Alert{}, err
	}
	a := alert.Alert{
		Source:     "falco",
		Digest:     digest(body),
		ReceivedAt: receivedAt.UTC(),
	}
	k := &keeper{}
	if err := errors.Join(readRequired(obj, &a, k), readOptional(obj, &a, k)); err != nil {
		return alert.Alert{}, err
	}
	raw, _ := obj["output_fields"].(map[string]any)
	t, err := falcoTarget(raw, a.Hostname, a.EventSource)
	if err != nil {
		return alert.Alert{}, err
	}
	a.Target = t
	if err := k.fit(falcoPayload, jsonSize(a.Fields)); err != nil {
		return alert.Alert{}, err
	}
	k.finish(&a)
	return a, nil
}

// requiredFields are the keys every Falco alert must carry, in the order
// a "missing" error names them, with the setter that reads each.
var requiredFields = []struct {
	key string
	set func(a *alert.Alert, k *keeper, v any) error
}{
	{"rule", setRule},
	{"priority", setPriority},
	{"time", setTime},
}

// readRequired sets the rule, priority and time. It names every missing
// field in one error, joined with an error for each invalid one.
func readRequired(obj map[string]any, a *alert.Alert, k *keeper) error {
	var missing []string
	var errs []error
	for _, f := range requiredFields {
		v := obj[f.key]
		if s, ok := v.(string); v == nil || (ok && strings.TrimSpace(s) == "") {
			missing = append(missing, f.key)
			continue
		}
		if err := f.set(a, k, v); err != nil {
			errs = append(errs, err)
		}
	}
	if len(missing) > 0 {
		err := problem(falcoPayload, "missing %s", strings.Join(missing, ", "))
		errs = append([]error{err}, errs...)
	}
	return errors.Join(errs...)
}

// setRule reads the rule's name.
func setRule(a *alert.Alert, k *keeper, v any) error {
	s, err := asString(falcoPayload, "rule", v)
	a.Rule = k.text("rule", s, MaxRule)
	return err
}

// setPriority reads the priority's name.
func setPriority(a *alert.Alert, _ *keeper, v any) error {
	s, err := asString(falcoPayload, "priority", v)
	if err != nil {
		return err
	}
	p, err := alert.ParsePriority(s)
	if err != nil {
		return namedProblem(falcoPayload, "priority", "%v", err)
	}
	a.Priority = p
	return nil
}

// setTime reads Falco's time: an RFC 3339 string, or a JSON number of
// nanoseconds since the epoch. The result is in UTC.
func setTime(a *alert.Alert, _ *keeper, v any) error {
	switch v := v.(type) {
	case string:
		t, err := parseTime(falcoPayload, "time", v)
		a.Time = t
		return err
	case json.Number:
		ns, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return namedProblem(falcoPayload, "time", "invalid time %s (want integer nanoseconds since the epoch)", quoteNumber(v))
		}
		a.Time = time.Unix(0, ns).UTC()
		return nil
	}
	return fieldProblem(falcoPayload, "time", "want a string or number, got %s", jsonType(v))
}

// parseTime reads an RFC 3339 time of years 1 to 9999 in UTC; the error
// names the field as "invalid <field> ..." or "<field> ... out of range".
func parseTime(payload, field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, namedProblem(payload, field, "invalid %s %s (want RFC 3339)", field, quote(s))
	}
	if t = t.UTC(); t.IsZero() || t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, namedProblem(payload, field, "%s %s out of range", field, quote(s))
	}
	return t, nil
}

// quoteNumber writes a JSON number for an error message, cut to 64 bytes.
func quoteNumber(n json.Number) string {
	if len(n) > 64 {
		return string(n[:64]) + "..."
	}
	return string(n)
}

// readOptional sets the fields an alert may leave out. A JSON null counts
// as absent; a value of the wrong type is an error.
func readOptional(obj map[string]any, a *alert.Alert, k *keeper) error {
	var errs []error
	str := func(key string) string {
		s, err := asString(falcoPayload, key, obj[key])
		errs = append(errs, err)
		return s
	}
	if id := str("uuid"); id != "" {
		a.DetectorID = k.text("detector_id", id, MaxShortText)
		if idPattern.MatchString(id) {
			a.IdempotencyKey = "falco/" + id
		}
	}
	a.Output = k.text("output", str("output"), MaxOutput)
	if h := str("hostname"); h != "" {
		var err error
		if a.Hostname, err = checkHost(h); err != nil {
			errs = append(errs, fieldProblem(falcoPayload, "hostname", "%v", err))
		}
	}
	src, err := eventSource(str("source"))
	a.EventSource = src
	errs = append(errs, err)
	a.Tags, err = readTags(falcoPayload, "tags", obj["tags"], k)
	errs = append(errs, err)
	a.Fields, err = outputFields(obj["output_fields"], k)
	errs = append(errs, err)
	return errors.Join(errs...)
}

// eventSource normalises Falco's event source: Falco writes "syscall",
// Falcosidekick's tests "syscalls", and an alert without one is a syscall.
// Plugins name others ("k8s_audit", "aws_cloudtrail").
func eventSource(s string) (string, error) {
	switch s {
	case "", "syscall", "syscalls":
		return "syscall", nil
	}
	if !sourcePattern.MatchString(s) {
		return "", fieldProblem(falcoPayload, "source", "%s is not an event source (want %s)", quote(s), sourcePattern)
	}
	return s, nil
}
