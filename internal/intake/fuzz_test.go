package intake

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// safeUnitKey is what a unit key may hold and how long it may be: a
// Temporal workflow ID, a file name and a Docker tag all take it.
var safeUnitKey = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,299}$`)

// checkRefused fails unless err is an intake error with the payload's
// prefix.
func checkRefused(t *testing.T, err error, prefix string) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("error %q does not start with %q", err, prefix)
	}
	var e *Error
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) {
		t.Errorf("error %q is not an *Error matching ErrInvalid", err)
	}
}

// checkAccepted checks what every accepted alert promises: its JSON
// encoding is bounded, it names a unit with a safe key or names none (a
// container named only by name awaits the API's lookup of its ID), and
// its text holds no raw control characters.
func checkAccepted(t *testing.T, a alert.Alert) {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatalf("json.Marshal(alert): %v", err)
	}
	if len(b) > MaxAlertJSON {
		t.Errorf("alert takes %d bytes of JSON, over %d", len(b), MaxAlertJSON)
	}
	key, err := a.Target.UnitKey()
	switch {
	case a.Target.Kind == "":
		if err == nil {
			t.Errorf("target %+v names no unit, but has the key %q", a.Target, key)
		}
	case err != nil:
		if a.Target.Kind != alert.KindDocker || a.Target.ContainerID != "" || a.Target.ContainerName == "" {
			t.Errorf("target %+v names a unit without a key: %v", a.Target, err)
		}
	case !safeUnitKey.MatchString(key):
		t.Errorf("unit key %q of %+v is not safe", key, a.Target)
	}
	if _, err := CheckTarget(a.Target); err != nil {
		t.Errorf("accepted target %+v does not check: %v", a.Target, err)
	}
	for _, s := range alertText(a) {
		if i := strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || visible(r) != "" }); i >= 0 {
			t.Errorf("alert keeps a raw control character in %q", s)
		}
	}
}

// alertText lists every string an alert keeps.
func alertText(a alert.Alert) []string {
	out := []string{a.Rule, a.Output, a.DetectorID, a.Hostname, a.EventSource, a.Source, a.IdempotencyKey}
	out = append(out, a.Tags...)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, item := range v {
				walk(item)
			}
		case map[string]any:
			for k, item := range v {
				out = append(out, k)
				walk(item)
			}
		}
	}
	walk(a.Fields)
	for _, m := range []map[string]string{a.Labels, a.Annotations} {
		for k, v := range m {
			out = append(out, k, v)
		}
	}
	if v := a.Vulnerabilities; v != nil {
		for _, f := range v.Top {
			out = append(out, f.ID, f.Package, f.InstalledVersion, f.FixedVersion, f.Title)
		}
	}
	return out
}

// addFiles seeds f with the files matching pattern.
func addFiles(f *testing.F, pattern string) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds match %s: %v", pattern, err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseAlertmanager(f *testing.F) {
	addFiles(f, filepath.Join(samplesDir, "prometheus-msteams*.json"))
	addFiles(f, filepath.Join("testdata", "alertmanager*.json"))
	for _, s := range []string{``, `{}`, `{"alerts":[]}`, `{"alerts":[{}]}`, `{"alerts":[null]}`,
		`{"alerts":[{"labels":{"alertname":"A","container":"3F2A9C1D0B7E","instance":"[::1]:1"},"startsAt":"2024-02-03T03:00:00Z","endsAt":"2024-02-03T03:00:00Z"}]}`,
		`{"alerts":[{"labels":{"alertname":"A","namespace":"a","pod":"b","container":"web"},"annotations":{"summary":"\u0000<"},"startsAt":"2024-02-03T03:00:00Z","fingerprint":"AB"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		as, err := ParseAlertmanager(body, time.Now(), DefaultLabelMap())
		if err != nil {
			checkRefused(t, err, "alertmanager webhook: ")
			if as != nil {
				t.Errorf("alerts %+v with an error", as)
			}
			return
		}
		if len(as) == 0 || len(as) > MaxAlerts {
			t.Fatalf("%d alerts, want 1 to %d", len(as), MaxAlerts)
		}
		for _, a := range as {
			if a.Source != "alertmanager" || strings.TrimSpace(a.Rule) == "" || a.IdempotencyKey == "" ||
				(a.Status != alert.StatusFiring && a.Status != alert.StatusResolved) {
				t.Errorf("alert %+v: want source alertmanager, a rule, a key and a status", a)
			}
			checkAccepted(t, a)
		}
	})
}

func FuzzParseGeneric(f *testing.F) {
	var schema schemaDoc
	if err := json.Unmarshal(AlertSchema, &schema); err != nil {
		f.Fatal(err)
	}
	for _, ex := range schema.Examples {
		f.Add([]byte(ex))
	}
	for _, s := range []string{``, `{}`, `{"source":"s","rule":"r","priority":"info"}`,
		`{"source":"s","rule":"r","priority":"info","target":{"container_name":"web","host":"::1"}}`,
		`{"source":"s","rule":"r","priority":"info","fields":{"a":[1,{"b":"\u001b"}]},"labels":{"x":null},"tags":["<"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseGeneric(body, time.Now())
		if err != nil {
			checkRefused(t, err, "alert: ")
			return
		}
		if !sourcePattern.MatchString(a.Source) || strings.TrimSpace(a.Rule) == "" || a.Time.IsZero() {
			t.Errorf("alert %+v: want a safe source, a rule and a time", a)
		}
		checkAccepted(t, a)
	})
}
