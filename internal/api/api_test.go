package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/auth"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// fakeIncidents is an Incidents whose behaviour each test sets.
type fakeIncidents struct {
	OpenFn   func(context.Context, alert.Alert) (incident.Opened, error)
	GetFn    func(context.Context, string) (incident.Incident, error)
	ListFn   func(context.Context) ([]incident.Summary, error)
	DecideFn func(context.Context, string, incident.DecisionRequest) (incident.Decision, error)
	HealthFn func(context.Context) error
	opened   []alert.Alert
}

var _ Incidents = (*fakeIncidents)(nil)

func (f *fakeIncidents) Open(ctx context.Context, a alert.Alert) (incident.Opened, error) {
	if _, ok := playbooks.Select(anyFalco, a); !ok {
		return incident.Opened{}, incident.ErrUnmatched
	}
	f.opened = append(f.opened, a)
	if f.OpenFn == nil {
		return incident.Opened{IncidentID: "docker-h-abc.run", Deduplicated: len(f.opened) > 1}, nil
	}
	return f.OpenFn(ctx, a)
}

func (f *fakeIncidents) Get(ctx context.Context, id string) (incident.Incident, error) {
	if f.GetFn == nil {
		return incident.Incident{}, fmt.Errorf("incident %s: %w", id, incident.ErrNotFound)
	}
	return f.GetFn(ctx, id)
}

func (f *fakeIncidents) List(ctx context.Context) ([]incident.Summary, error) {
	if f.ListFn == nil {
		return nil, nil
	}
	return f.ListFn(ctx)
}

func (f *fakeIncidents) Decide(ctx context.Context, id string, d incident.DecisionRequest) (incident.Decision, error) {
	return f.DecideFn(ctx, id, d)
}

func (f *fakeIncidents) Health(ctx context.Context) error {
	if f.HealthFn == nil {
		return nil
	}
	return f.HealthFn(ctx)
}

const legacyToken = "legacy-api-token-of-32-bytes-or-more"

var anyFalco = []playbooks.Playbook{
	{Name: "any", Match: playbooks.Match{Source: "falco", Target: "docker"}},
	{Name: "am", Match: playbooks.Match{Source: "alertmanager", Target: "docker"}},
}

const alertBody = `{"rule":"Terminal shell in container","priority":"Critical","time":"2026-11-23T01:00:00Z",
	"hostname":"h","output_fields":{"container.id":"abcdefabcdef"}}`

// serve serves the API over f: open when token is empty, else with token
// as the legacy admin token.
func serve(t *testing.T, f *fakeIncidents, token string) *httptest.Server {
	t.Helper()
	opts := Options{Incidents: f}
	if token != "" {
		a, err := auth.New(auth.Options{LegacyToken: token})
		if err != nil {
			t.Fatal(err)
		}
		opts.Auth = a
	}
	return serveWith(t, opts)
}

func serveWith(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	s := New(opts)
	s.now = func() time.Time { return time.Date(2026, 11, 23, 1, 0, 1, 0, time.UTC) }
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestAlertAnswers(t *testing.T) {
	f := &fakeIncidents{}
	srv := serve(t, f, "")
	cases := []struct {
		name, body string
		code       int
		want       string
	}{
		{"new incident", alertBody, 202, `"deduplicated": false`},
		{"joins", alertBody, 202, `"deduplicated": true`},
		{"no playbook", `{"rule":"r","priority":"Critical","time":"2026-11-23T01:00:00Z"}`, 200, `"matched": false`},
		{"malformed", `{"rule":`, 400, `falco alert: invalid JSON`},
		{"missing", `{}`, 400, `falco alert: missing rule, priority, time`},
		{"oversized", `{"output":"` + strings.Repeat("x", MaxAlertBytes) + `"}`, 413, `alert body over 1048576 bytes`},
	}
	for _, tc := range cases {
		code, body := call(t, srv, "POST", "/v1/alerts/falco", "", tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, code, body, tc.code, tc.want)
		}
	}
	if len(f.opened) != 2 {
		t.Errorf("opened %d incidents, want 2 (only the matched alerts)", len(f.opened))
	}
	if got := f.opened[0].Target.ContainerID; got != "abcdefabcdef" {
		t.Errorf("target = %q", got)
	}
}

func TestAlertNotAcknowledgedWhenTemporalFails(t *testing.T) {
	f := &fakeIncidents{OpenFn: func(context.Context, alert.Alert) (incident.Opened, error) {
		return incident.Opened{}, errors.New("temporal: connection refused")
	}}
	srv := serve(t, f, "")
	code, body := call(t, srv, "POST", "/v1/alerts/falco", "", alertBody)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Errorf("got %d %s, want 503", code, body)
	}
	resp, err := http.Post(srv.URL+"/v1/alerts/falco", "application/json", strings.NewReader(alertBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After = %q, want %q", got, retryAfter)
	}
}

func TestToken(t *testing.T) {
	f := &fakeIncidents{}
	srv := serve(t, f, legacyToken)
	for _, tok := range []string{"", "wrong", legacyToken + "2"} {
		if code, _ := call(t, srv, "POST", "/v1/alerts/falco", tok, alertBody); code != http.StatusUnauthorized {
			t.Errorf("token %q: %d, want 401", tok, code)
		}
		if code, _ := call(t, srv, "GET", "/v1/incidents", tok, ""); code != http.StatusUnauthorized {
			t.Errorf("list with token %q: %d, want 401", tok, code)
		}
	}
	if len(f.opened) != 0 {
		t.Errorf("unauthenticated alerts opened %d incidents", len(f.opened))
	}
	if code, _ := call(t, srv, "POST", "/v1/alerts/falco", legacyToken, alertBody); code != http.StatusAccepted {
		t.Errorf("right token: %d", code)
	}
	if code, _ := call(t, srv, "GET", "/healthz", "", ""); code != http.StatusOK {
		t.Errorf("healthz needs no token: %d", code)
	}
}

func TestDecisionStatuses(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{nil, 200},
		{fmt.Errorf(`approver "m": %w`, incident.ErrForbidden), 403},
		{fmt.Errorf(`step "x" is not waiting: %w`, incident.ErrNotWaiting), 409},
		{fmt.Errorf("incident x: %w", incident.ErrNotFound), 404},
		{fmt.Errorf(`decision "maybe": %w`, incident.ErrBadRequest), 400},
	}
	for _, tc := range cases {
		f := &fakeIncidents{DecideFn: func(_ context.Context, id string, d incident.DecisionRequest) (incident.Decision, error) {
			return incident.Decision{Step: d.Step, Decision: d.Decision, Approver: d.Approver}, tc.err
		}}
		code, body := call(t, serve(t, f, ""), "POST", "/v1/incidents/i.r/decisions", "",
			`{"step":"approve","decision":"approve","approver":"alice"}`)
		if code != tc.code {
			t.Errorf("error %v: %d %s, want %d", tc.err, code, body, tc.code)
		}
	}
	f := &fakeIncidents{}
	for _, body := range []string{`{"step":"approve"}`, `{"step":"a","decision":"approve","approver":"x","extra":1}`, `nope`} {
		if code, _ := call(t, serve(t, f, ""), "POST", "/v1/incidents/i.r/decisions", "", body); code != 400 {
			t.Errorf("body %s: %d, want 400", body, code)
		}
	}
}

func TestReportFormats(t *testing.T) {
	f := &fakeIncidents{GetFn: func(_ context.Context, id string) (incident.Incident, error) {
		return incident.Incident{ID: id, Rule: "Terminal shell in container", Status: incident.StatusCompleted,
			Steps: []incident.Step{{ID: "contain", Kind: "docker:isolate", Status: incident.StepSucceeded}}}, nil
	}}
	srv := serve(t, f, "")
	code, md := call(t, srv, "GET", "/v1/incidents/i.r/report", "", "")
	if code != 200 || !strings.Contains(md, "# Incident report: Terminal shell in container") || !strings.Contains(md, "| contain | docker:isolate | succeeded |") {
		t.Errorf("markdown: %d\n%s", code, md)
	}
	code, js := call(t, srv, "GET", "/v1/incidents/i.r/report?format=json", "", "")
	if code != 200 || !strings.Contains(js, `"generated_at"`) {
		t.Errorf("json: %d %s", code, js)
	}
	code, page := call(t, srv, "GET", "/v1/incidents/i.r/report?format=html", "", "")
	if code != 200 || !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, `<rect class="bar succeeded" data-step="contain"`) {
		t.Errorf("html: %d\n%s", code, page)
	}
	if code, _ := call(t, srv, "GET", "/v1/incidents/i.r/report?format=pdf", "", ""); code != 400 {
		t.Errorf("pdf: %d, want 400", code)
	}
	if code, _ := call(t, serve(t, &fakeIncidents{}, ""), "GET", "/v1/incidents/nope", "", ""); code != 404 {
		t.Errorf("unknown incident: %d, want 404", code)
	}
}

func TestMetrics(t *testing.T) {
	srv := serve(t, &fakeIncidents{}, "")
	call(t, srv, "POST", "/v1/alerts/falco", "", alertBody)
	call(t, srv, "POST", "/v1/alerts/falco", "", "{")
	_, body := call(t, srv, "GET", "/metrics", "", "")
	for _, want := range []string{
		`quell_alerts_total{outcome="incident",source="falco"} 1`,
		`quell_alerts_total{outcome="invalid",source="falco"} 1`,
		`quell_http_request_duration_seconds_count{code="202",route="POST /v1/alerts/falco"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestHealthz(t *testing.T) {
	f := &fakeIncidents{HealthFn: func(context.Context) error { return errors.New("temporal: unavailable") }}
	if code, body := call(t, serve(t, f, ""), "GET", "/healthz", "", ""); code != 503 || !strings.Contains(body, "unavailable") {
		t.Errorf("healthz: %d %s", code, body)
	}
}

// amBody is an Alertmanager webhook of two firing alerts about containers
// and one resolved.
const amBody = `{"version":"4","status":"firing","receiver":"quell","alerts":[
 {"status":"firing","labels":{"alertname":"CryptoMiner","severity":"critical","container_id":"abcdefabcdef","instance":"h:9100"},
  "startsAt":"2026-11-23T01:00:00Z","fingerprint":"aaaa000000000001"},
 {"status":"firing","labels":{"alertname":"CryptoMiner","severity":"critical","container_id":"bcdefabcdefa","instance":"h:9100"},
  "startsAt":"2026-11-23T01:00:00Z","fingerprint":"aaaa000000000002"},
 {"status":"resolved","labels":{"alertname":"CryptoMiner","severity":"critical","container_id":"cdefabcdefab","instance":"h:9100"},
  "startsAt":"2026-11-23T00:00:00Z","endsAt":"2026-11-23T00:30:00Z","fingerprint":"aaaa000000000003"}]}`

func TestAlertmanagerWebhook(t *testing.T) {
	f := &fakeIncidents{OpenFn: func(_ context.Context, a alert.Alert) (incident.Opened, error) {
		if a.Status == alert.StatusResolved {
			return incident.Opened{}, incident.ErrNoIncident
		}
		return incident.Opened{IncidentID: "docker-h-" + a.Target.ContainerID + ".run"}, nil
	}}
	srv := serve(t, f, "")
	code, body := call(t, srv, "POST", "/v1/alerts/alertmanager", "", amBody)
	if code != http.StatusAccepted {
		t.Fatalf("webhook: %d %s", code, body)
	}
	for _, want := range []string{`"incident_id": "docker-h-abcdefabcdef.run"`, `"incident_id": "docker-h-bcdefabcdefa.run"`,
		`"reason": "resolved, and no incident is open for its unit"`} {
		if !strings.Contains(body, want) {
			t.Errorf("answer lacks %s:\n%s", want, body)
		}
	}
	if len(f.opened) != 3 {
		t.Fatalf("opened %d, want 3", len(f.opened))
	}
	a := f.opened[0]
	if a.Source != "alertmanager" || a.Rule != "CryptoMiner" || a.IdempotencyKey == "" || a.Target.Host != "h" {
		t.Errorf("first alert = %+v", a)
	}
	if code, body := call(t, srv, "POST", "/v1/alerts/alertmanager", "", `{"version":"4","alerts":[{"labels":{}}]}`); code != http.StatusBadRequest {
		t.Errorf("alert without alertname: %d %s, want 400", code, body)
	}
}

func TestAlertSchemaServed(t *testing.T) {
	srv := serve(t, &fakeIncidents{}, "")
	code, body := call(t, srv, "GET", "/v1/schema/alert.json", "", "")
	if code != http.StatusOK || !strings.Contains(body, `"$schema"`) {
		t.Errorf("schema: %d %.80s", code, body)
	}
}
