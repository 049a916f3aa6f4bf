package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/quell-ir/quell/internal/audit"
	"github.com/quell-ir/quell/internal/auth"
	"github.com/quell-ir/quell/internal/incident"
)

// One token per role, and the legacy one.
var roleTokens = map[auth.Role]string{
	auth.Detector:  "quell_detector-token-0123456789abcdefghijkl",
	auth.Viewer:    "quell_viewer-token-0123456789abcdefghijklmn",
	auth.Responder: "quell_responder-token-0123456789abcdefghijk",
	auth.Admin:     "quell_admin-token-0123456789abcdefghijklmno",
}

var roleNames = map[auth.Role]string{auth.Detector: "falco-1", auth.Viewer: "vic", auth.Responder: "rita", auth.Admin: "ada"}

// rig is an API with a principal per role, an audit log in a temporary
// data dir and a log written to a buffer.
type rig struct {
	srv     *httptest.Server
	f       *fakeIncidents
	dir     string
	logs    *syncBuffer
	decided []incident.DecisionRequest
	mu      sync.Mutex
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newRig(t *testing.T, edit func(*Options)) *rig {
	t.Helper()
	rg := &rig{dir: t.TempDir(), logs: &syncBuffer{}}
	rg.f = &fakeIncidents{
		DecideFn: func(_ context.Context, id string, d incident.DecisionRequest) (incident.Decision, error) {
			rg.mu.Lock()
			rg.decided = append(rg.decided, d)
			rg.mu.Unlock()
			return incident.Decision{Step: d.Step, Decision: d.Decision, Approver: d.Approver}, nil
		},
		GetFn: func(_ context.Context, id string) (incident.Incident, error) {
			return incident.Incident{ID: id, Rule: "r", Status: incident.StatusCompleted}, nil
		},
	}
	var creds []auth.Credential
	for role, tok := range roleTokens {
		creds = append(creds, auth.Credential{Principal: auth.Principal{Name: roleNames[role], Role: role}, Hash: auth.HashToken(tok)})
	}
	a, err := auth.New(auth.Options{Credentials: creds, LegacyToken: legacyToken})
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(audit.Path(rg.dir))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Incidents: rg.f, Auth: a, Audit: log, Logger: slog.New(slog.NewTextHandler(rg.logs, nil))}
	if edit != nil {
		edit(&opts)
	}
	rg.srv = serveWith(t, opts)
	return rg
}

// auditLog is the audit log's text, after checking its chain.
func (rg *rig) auditLog(t *testing.T) string {
	t.Helper()
	if _, err := audit.VerifyFile(audit.Path(rg.dir)); err != nil {
		t.Fatalf("audit log: %v", err)
	}
	b, err := os.ReadFile(audit.Path(rg.dir))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const decisionBody = `{"step":"approve","decision":"approve"}`

func TestRoutePermissions(t *testing.T) {
	requests := []struct {
		name, method, path, body string
		allowed                  []auth.Role
	}{
		{"post a falco alert", "POST", "/v1/alerts/falco", alertBody, []auth.Role{auth.Detector, auth.Admin}},
		{"post a trivy report", "POST", "/v1/alerts/trivy", `{}`, []auth.Role{auth.Detector, auth.Admin}},
		{"post alertmanager's webhook", "POST", "/v1/alerts/alertmanager", `{}`, []auth.Role{auth.Detector, auth.Admin}},
		{"post quell's own alert", "POST", "/v1/alerts", `{}`, []auth.Role{auth.Detector, auth.Admin}},
		{"list incidents", "GET", "/v1/incidents", "", []auth.Role{auth.Viewer, auth.Responder, auth.Admin}},
		{"read an incident", "GET", "/v1/incidents/i.r", "", []auth.Role{auth.Viewer, auth.Responder, auth.Admin}},
		{"read a report", "GET", "/v1/incidents/i.r/report", "", []auth.Role{auth.Viewer, auth.Responder, auth.Admin}},
		{"decide", "POST", "/v1/incidents/i.r/decisions", decisionBody, []auth.Role{auth.Responder, auth.Admin}},
		{"plan", "POST", "/v1/plan", `{}`, []auth.Role{auth.Viewer, auth.Responder, auth.Admin}},
	}
	rg := newRig(t, nil)
	for _, req := range requests {
		for _, role := range auth.Roles() {
			rg.f.opened, rg.decided = nil, nil
			code, body := call(t, rg.srv, req.method, req.path, roleTokens[role], req.body)
			allowed := false
			for _, r := range req.allowed {
				allowed = allowed || r == role
			}
			switch {
			case allowed && (code == http.StatusUnauthorized || code == http.StatusForbidden):
				t.Errorf("%s as %s: %d %s, want it allowed", req.name, role, code, body)
			case !allowed && code != http.StatusForbidden:
				t.Errorf("%s as %s: %d %s, want 403", req.name, role, code, body)
			case !allowed && (len(rg.f.opened) > 0 || len(rg.decided) > 0):
				t.Errorf("%s as %s: refused, yet it started something", req.name, role)
			}
		}
	}
	// Every route is closed to no credential and a wrong one.
	rg.f.opened, rg.decided = nil, nil
	for _, req := range requests {
		for _, tok := range []string{"", "quell_not-a-token-anyone-was-given-at-all"} {
			if code, _ := call(t, rg.srv, req.method, req.path, tok, req.body); code != http.StatusUnauthorized {
				t.Errorf("%s with token %q: %d, want 401", req.name, tok, code)
			}
		}
	}
	if n := len(rg.f.opened) + len(rg.decided); n != 0 {
		t.Errorf("unauthenticated requests started %d things", n)
	}
	// The table covers every route.
	if got, want := len(requests), len((&Server{}).routes()); got != want {
		t.Errorf("%d routes tested, the API has %d", got, want)
	}
}

func TestRefusalsAnswered(t *testing.T) {
	rg := newRig(t, nil)
	cases := []struct {
		name, header string
		code         int
		body         string
	}{
		{"no credential", "", 401, "missing or wrong bearer token (authorization: no credential)"},
		{"wrong token", "Bearer quell_wrong-wrong-wrong-wrong-wrong-wrong", 401, "missing or wrong bearer token (bearer token: bad credential)"},
		{"basic", "Basic YWRhOng=", 401, "missing or wrong bearer token (authorization: bad credential: want the Bearer scheme)"},
		{"wrong role", "Bearer " + roleTokens[auth.Detector], 403, "forbidden: falco-1 (role detector) may not read"},
		{"bearer in lower case", "bearer " + roleTokens[auth.Viewer], 200, `"incidents"`},
		{"legacy token", "Bearer " + legacyToken, 200, `"incidents"`},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", rg.srv.URL+"/v1/incidents", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(b.String(), tc.body) {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, resp.StatusCode, b.String(), tc.code, tc.body)
		}
		if tc.code == 401 && resp.Header.Get("WWW-Authenticate") != `Bearer realm="quell"` {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, resp.Header.Get("WWW-Authenticate"))
		}
	}
	_, metrics := call(t, rg.srv, "GET", "/metrics", "", "")
	for _, want := range []string{
		`quell_api_refusals_total{action="incidents.list",reason="no_credential"} 1`,
		`quell_api_refusals_total{action="incidents.list",reason="bad_credential"} 2`,
		`quell_api_refusals_total{action="incidents.list",reason="forbidden"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	log := rg.auditLog(t)
	for _, want := range []string{
		`"action":"incidents.list","outcome":"refused","reason":"missing or wrong bearer token (authorization: no credential)"`,
		`"principal":"falco-1","role":"detector","via":"config","address":"127.0.0.1:`,
		`"reason":"forbidden: falco-1 (role detector) may not read"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s:\n%s", want, log)
		}
	}
}

func TestDecisionsBoundToIdentity(t *testing.T) {
	rg := newRig(t, nil)
	responder := roleTokens[auth.Responder]
	cases := []struct {
		name, token, body string
		code              int
		approver          string // recorded, when allowed
		answer            string
	}{
		{"approver filled in", responder, decisionBody, 200, "rita", `"approver": "rita"`},
		{"own name", responder, `{"step":"approve","decision":"approve","approver":"rita"}`, 200, "rita", `"approver": "rita"`},
		{"someone else", responder, `{"step":"approve","decision":"approve","approver":"alice"}`, 400, "",
			`decision: approver \"alice\" is not the credential's principal \"rita\": a decision is made under its maker's own name`},
		{"legacy admin", legacyToken, decisionBody, 200, "admin", `"approver": "admin"`},
		{"legacy admin naming alice", legacyToken, `{"step":"approve","decision":"approve","approver":"alice"}`, 400, "", `is not the credential's principal \"admin\"`},
	}
	for _, tc := range cases {
		rg.decided = nil
		code, body := call(t, rg.srv, "POST", "/v1/incidents/i.r/decisions", tc.token, tc.body)
		if code != tc.code || !strings.Contains(body, tc.answer) {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, code, body, tc.code, tc.answer)
		}
		switch {
		case tc.approver == "" && len(rg.decided) != 0:
			t.Errorf("%s: refused, yet decided %+v", tc.name, rg.decided)
		case tc.approver != "" && (len(rg.decided) != 1 || rg.decided[0].Approver != tc.approver):
			t.Errorf("%s: decided %+v, want one by %s", tc.name, rg.decided, tc.approver)
		}
	}
	log := rg.auditLog(t)
	for _, want := range []string{
		`"principal":"rita","role":"responder","via":"config","address":"127.0.0.1:`,
		`"action":"decision","incident":"i.r","step":"approve","outcome":"accepted","reason":"approve as rita"`,
		`"action":"decision","incident":"i.r","step":"approve","outcome":"refused","reason":"decision: approver \"alice\" is not the credential's principal \"rita\"`,
		`"principal":"admin","role":"admin","via":"legacy"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s:\n%s", want, log)
		}
	}
}

func TestOpenAPIKeepsTheBodysApprover(t *testing.T) {
	var got incident.DecisionRequest
	f := &fakeIncidents{DecideFn: func(_ context.Context, _ string, d incident.DecisionRequest) (incident.Decision, error) {
		got = d
		return incident.Decision{}, nil
	}}
	srv := serve(t, f, "")
	if code, body := call(t, srv, "POST", "/v1/incidents/i.r/decisions", "", `{"step":"s","decision":"approve","approver":"alice"}`); code != 200 || got.Approver != "alice" {
		t.Errorf("open API: %d %s, approver %q", code, body, got.Approver)
	}
	if code, _ := call(t, srv, "POST", "/v1/incidents/i.r/decisions", "", decisionBody); code != 400 {
		t.Errorf("open API, no approver: %d, want 400", code)
	}
}

func TestAlertAcceptedIsAudited(t *testing.T) {
	rg := newRig(t, nil)
	if code, body := call(t, rg.srv, "POST", "/v1/alerts/falco", roleTokens[auth.Detector], alertBody); code != 202 {
		t.Fatalf("alert: %d %s", code, body)
	}
	log := rg.auditLog(t)
	want := `"principal":"falco-1","role":"detector","via":"config","address":"127.0.0.1:`
	want2 := `"action":"alert.falco","incident":"docker-h-abc.run","outcome":"accepted","reason":"rule \"Terminal shell in container\" opened the incident"`
	if !strings.Contains(log, want) || !strings.Contains(log, want2) {
		t.Errorf("audit log lacks the alert:\n%s", log)
	}
}

func TestIntakeCredentials(t *testing.T) {
	falcoTok := "falcosidekick-custom-header-token-32b"
	secret := []byte("trivy-webhook-signing-secret-of-32-bytes")
	falcoHash := auth.HashToken(falcoTok)
	in, err := auth.NewIntake(
		auth.IntakeCredential{Source: "falco", Header: "X-Quell-Token", Token: &falcoHash},
		auth.IntakeCredential{Source: "trivy", HMACSecret: secret},
	)
	if err != nil {
		t.Fatal(err)
	}
	rg := newRig(t, func(o *Options) { o.Intake = in })
	report := `{"SchemaVersion":2,"ArtifactName":"example/app:1","ArtifactType":"container_image","Results":[]}`
	cases := []struct {
		name, path, header, value, body string
		refused                         bool
	}{
		{"falco's own token", "/v1/alerts/falco", "X-Quell-Token", falcoTok, alertBody, false},
		{"falco's token, wrong", "/v1/alerts/falco", "X-Quell-Token", falcoTok + "x", alertBody, true},
		{"a detector's bearer token on falco's route", "/v1/alerts/falco", "Authorization", "Bearer " + roleTokens[auth.Detector], alertBody, true},
		{"the admin's on falco's route", "/v1/alerts/falco", "Authorization", "Bearer " + roleTokens[auth.Admin], alertBody, true},
		{"trivy signed", "/v1/alerts/trivy", "X-Quell-Signature", auth.Sign(secret, []byte(report), ""), report, false},
		{"trivy signed over another body", "/v1/alerts/trivy", "X-Quell-Signature", auth.Sign(secret, []byte(report+" "), ""), report, true},
		{"trivy unsigned", "/v1/alerts/trivy", "", "", report, true},
	}
	for _, tc := range cases {
		rg.f.opened = nil
		req, _ := http.NewRequest("POST", rg.srv.URL+tc.path, strings.NewReader(tc.body))
		if tc.header != "" {
			req.Header.Set(tc.header, tc.value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.StatusCode == http.StatusUnauthorized; got != tc.refused {
			t.Errorf("%s: %d, want refused %v", tc.name, resp.StatusCode, tc.refused)
		}
		if tc.refused && len(rg.f.opened) != 0 {
			t.Errorf("%s: refused, yet opened an incident", tc.name)
		}
	}
	log := rg.auditLog(t)
	if !strings.Contains(log, `"principal":"intake:falco","role":"detector","via":"intake"`) ||
		!strings.Contains(log, `"action":"alert.trivy","outcome":"refused","reason":"missing or wrong bearer token (intake trivy: bad credential: wrong signature)"`) {
		t.Errorf("audit log lacks the intake principal or refusal:\n%s", log)
	}
	_, metrics := call(t, rg.srv, "GET", "/metrics", "", "")
	if !strings.Contains(metrics, `quell_api_refusals_total{action="alert.falco",reason="bad_credential"} 1`) ||
		!strings.Contains(metrics, `quell_api_refusals_total{action="alert.falco",reason="no_credential"} 2`) {
		t.Errorf("falco refusals not counted:\n%s", grepLines(metrics, "refusals"))
	}
	assertNoSecrets(t, rg, falcoTok, string(secret))
}

func TestMetricsCredential(t *testing.T) {
	metricsTok := "prometheus-scrape-token-of-32-bytes-or-more"
	h := auth.HashToken(metricsTok)
	rg := newRig(t, func(o *Options) { o.MetricsToken = &h })
	cases := []struct {
		token string
		code  int
	}{
		{"", 401}, {"wrong-wrong-wrong-wrong-wrong-wrong-wrong", 401}, {metricsTok, 200},
		{roleTokens[auth.Viewer], 200}, {roleTokens[auth.Admin], 200}, {roleTokens[auth.Detector], 403},
	}
	for _, tc := range cases {
		if code, _ := call(t, rg.srv, "GET", "/metrics", tc.token, ""); code != tc.code {
			t.Errorf("metrics with %q: %d, want %d", tc.token, code, tc.code)
		}
	}
	// With no other credential configured, a metrics token still closes
	// /metrics.
	open := serveWith(t, Options{Incidents: &fakeIncidents{}, MetricsToken: &h})
	if code, _ := call(t, open, "GET", "/metrics", "", ""); code != 401 {
		t.Errorf("open API, metrics token set, none given: %d, want 401", code)
	}
	if code, _ := call(t, open, "GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz: %d, want 200 without a credential", code)
	}
	assertNoSecrets(t, rg, metricsTok)
}

func TestSlackNeedsNoBearer(t *testing.T) {
	called := false
	slack := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true })
	rg := newRig(t, func(o *Options) { o.Slack = slack })
	if code, _ := call(t, rg.srv, "POST", "/v1/slack/interactions", "", "payload=x"); code != 200 || !called {
		t.Errorf("slack interactions: %d, reached the handler %v", code, called)
	}
}

// assertNoSecrets fails when any token or secret (the rig's and extra) is in
// the logs or anything under the data dir.
func assertNoSecrets(t *testing.T, rg *rig, extra ...string) {
	t.Helper()
	var written strings.Builder
	written.WriteString(rg.logs.String())
	_ = filepath.WalkDir(rg.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			written.Write(b)
		}
		return nil
	})
	secrets := append([]string{legacyToken}, extra...)
	for _, tok := range roleTokens {
		secrets = append(secrets, tok)
	}
	for _, s := range secrets {
		if strings.Contains(written.String(), s) {
			t.Errorf("a secret of %d bytes is in the logs or the data dir", len(s))
		}
	}
}

func TestNoSecretsWritten(t *testing.T) {
	rg := newRig(t, nil)
	for _, tok := range append([]string{legacyToken, "quell_wrong-token-someone-tried-out-x"}, roleTokens[auth.Detector], roleTokens[auth.Responder]) {
		call(t, rg.srv, "POST", "/v1/alerts/falco", tok, alertBody)
		call(t, rg.srv, "GET", "/v1/incidents", tok, "")
		call(t, rg.srv, "POST", "/v1/incidents/i.r/decisions", tok, `{"step":"approve","decision":"approve","approver":"mallory"}`)
		call(t, rg.srv, "POST", "/v1/incidents/i.r/decisions", tok, decisionBody)
	}
	if !strings.Contains(rg.auditLog(t), `"outcome":"refused"`) {
		t.Fatal("nothing was refused: the test tried nothing")
	}
	assertNoSecrets(t, rg, "quell_wrong-token-someone-tried-out-x")
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
