// Package intake turns detectors' alert payloads into the normalised
// alert.Alert that the rest of quell reads: Falco and Falcosidekick
// (ParseFalco), Trivy (ParseTrivy), Alertmanager (ParseAlertmanager) and
// quell's own format for any other detector (ParseGeneric, AlertSchema).
//
// Every field is treated as written by an attacker. Fields that name
// something (container IDs and names, hosts, namespaces, pods, images) are
// validated and a payload whose names are not what they claim is refused;
// free text (output, command lines, any other value) is kept with its
// control characters escaped to a visible form, and cut when long, with
// the full value's size and SHA-256 in Alert.Truncated. What an alert keeps
// is bounded: encoded as JSON it stays under MaxAlertJSON bytes whatever
// the payload.
//
// Every parser's error is an *Error, or several joined with errors.Join;
// errors.Is(err, ErrInvalid) holds for all of them, and
// errors.Is(err, ErrTooLarge) for those that refuse a payload for its size
// (too many fields, labels, tags or alerts), which an HTTP API answers with
// 413 rather than 400.
package intake

import (
	"errors"
	"fmt"
)

// Sentinels that every intake error matches with errors.Is.
var (
	// ErrInvalid matches every payload intake refuses (HTTP 400, or 413
	// when ErrTooLarge matches too).
	ErrInvalid = errors.New("invalid alert")
	// ErrTooLarge matches payloads refused for their size: more fields,
	// labels, tags, alerts or nesting than intake keeps (HTTP 413).
	ErrTooLarge = errors.New("alert too large")
)

// Error is one problem with a payload.
type Error struct {
	// Payload names what was parsed: "falco alert", "trivy report",
	// "alertmanager webhook" or "alert".
	Payload string
	// Field is the path of the value at fault in the payload, e.g.
	// `output_fields["container.id"]` or `alerts[2].labels["pod"]`; empty
	// when the problem is with the body as a whole.
	Field string
	// Reason says what is wrong; it names the field itself.
	Reason string
	// TooLarge is set when the payload is refused for its size.
	TooLarge bool
}

// Error returns "<payload>: <reason>".
func (e *Error) Error() string { return e.Payload + ": " + e.Reason }

// Is reports whether target is ErrInvalid, or ErrTooLarge for an error of
// size.
func (e *Error) Is(target error) bool {
	return target == ErrInvalid || (e.TooLarge && target == ErrTooLarge)
}

// problem makes an Error about the body as a whole.
func problem(payload, format string, args ...any) *Error {
	return &Error{Payload: payload, Reason: fmt.Sprintf(format, args...)}
}

// fieldProblem makes an Error about one field; the reason starts with the
// field's path.
func fieldProblem(payload, field, format string, args ...any) *Error {
	return &Error{Payload: payload, Field: field, Reason: field + ": " + fmt.Sprintf(format, args...)}
}

// namedProblem makes an Error about one field whose reason names the
// field in its own words.
func namedProblem(payload, field, format string, args ...any) *Error {
	return &Error{Payload: payload, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// tooLarge makes an Error of size about one field, or the body when field
// is empty.
func tooLarge(payload, field, format string, args ...any) *Error {
	e := problem(payload, format, args...)
	if field != "" {
		e = fieldProblem(payload, field, format, args...)
	}
	e.TooLarge = true
	return e
}

// quote quotes an attacker's value for an error message, cut to 64 bytes
// so that a megabyte of it never lands in a log.
func quote(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q...", s[:64])
	}
	return fmt.Sprintf("%q", s)
}
