package intake

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestLimitErrors(t *testing.T) {
	many := func(n int, f func(i int) string) string {
		var parts []string
		for i := range n {
			parts = append(parts, f(i))
		}
		return strings.Join(parts, ",")
	}
	deep := strings.Repeat(`{"a":`, MaxDepth) + `1` + strings.Repeat(`}`, MaxDepth)
	amAlert := func(labels string) string {
		return `{"version":"4","alerts":[{"labels":{` + labels + `},"startsAt":"2024-02-03T04:05:06Z"}]}`
	}
	tests := []struct {
		name     string
		parse    func([]byte) error
		body     string
		want     string
		tooLarge bool
	}{
		{"falco: too many fields", falcoErr, minimal + `,"output_fields":{` + many(101, func(i int) string { return fmt.Sprintf(`"f%d":1`, i) }) + `}}`,
			`falco alert: output_fields: more than 100 values`, true},
		{"falco: too many nested values", falcoErr, minimal + `,"output_fields":{"a":[` + many(100, func(int) string { return "1" }) + `]}}`,
			`falco alert: output_fields["a"]: more than 100 values`, true},
		{"falco: too many tags", falcoErr, minimal + `,"tags":[` + many(33, func(int) string { return `"t"` }) + `]}`,
			`falco alert: tags: 33 tags, at most 32`, true},
		{"falco: too deep", falcoErr, minimal + `,"output_fields":{"x":` + deep + `}}`,
			fmt.Sprintf(`falco alert: invalid JSON at offset %d: nested deeper than 32 levels`, len(minimal)+len(`,"output_fields":{"x":`)+5*30), false},
		{"falco: long name", falcoErr, minimal + `,"output_fields":{"` + strings.Repeat("n", 65) + `":1}}`,
			`falco alert: output_fields: name "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"... longer than 64 bytes`, false},
		{"falco: control in a name", falcoErr, minimal + `,"output_fields":{"a\u0000":1}}`,
			`falco alert: output_fields: name "a\x00" holds control characters`, false},
		{"falco: empty name", falcoErr, minimal + `,"output_fields":{"":1}}`, `falco alert: output_fields: empty name`, false},
		{"falco: names alone too large", falcoErr, minimal + `,"output_fields":{` +
			many(100, func(i int) string { return fmt.Sprintf(`"%s%03d":1`, strings.Repeat("<", 61), i) }) + `}}`,
			`falco alert: fields, labels and annotations take 37401 bytes with every value cut to 8; at most 16384`, true},
		{"trivy: too deep", trivyErr, `{"SchemaVersion":2,"x":` + deep + `}`,
			fmt.Sprintf(`trivy report: invalid JSON at offset %d: nested deeper than 32 levels`, len(`{"SchemaVersion":2,"x":`)+5*31), false},
		{"alertmanager: too many labels", amErr, amAlert(many(65, func(i int) string { return fmt.Sprintf(`"l%d":"v"`, i) })),
			`alertmanager webhook: alerts[0].labels: 65 entries, at most 64`, true},
		{"alertmanager: too many alerts", amErr, `{"alerts":[` + many(1001, func(int) string { return `{}` }) + `]}`,
			`alertmanager webhook: alerts: 1001 alerts, at most 1000 (set max_alerts in the webhook_config)`, true},
		{"generic: too many labels", genericErr, `{"source":"s","rule":"r","priority":"info","labels":{` +
			many(65, func(i int) string { return fmt.Sprintf(`"l%d":"v"`, i) }) + `}}`,
			`alert: labels: 65 entries, at most 64`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse([]byte(tt.body))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error:\ngot  %v\nwant %s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge) != tt.tooLarge {
				t.Errorf("errors.Is(ErrInvalid) = %v, errors.Is(ErrTooLarge) = %v; want true, %v",
					errors.Is(err, ErrInvalid), errors.Is(err, ErrTooLarge), tt.tooLarge)
			}
		})
	}
}

func falcoErr(b []byte) error { _, err := ParseFalco(b, time.Now()); return err }
func trivyErr(b []byte) error { _, err := ParseTrivy(b, time.Now()); return err }
func genericErr(b []byte) error {
	_, err := ParseGeneric(b, time.Now())
	return err
}
func amErr(b []byte) error {
	_, err := ParseAlertmanager(b, time.Now(), DefaultLabelMap())
	return err
}
