package webui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/devserver"
)

// seen is what the upstream received.
type seen struct {
	method, path, auth, cookie string
}

// TestGateForwards checks, against a recording upstream, which requests
// the gate lets through and what it forwards: the Temporal credential in
// place of the caller's Authorization, and no session cookie.
func TestGateForwards(t *testing.T) {
	var got []seen
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, seen{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Cookie")})
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	g := newGate(u, "quell-ui-1", "the-key", false)
	session := "quell-ui-1=" + string(g.session)

	for _, tc := range []struct {
		method, path string
		header       map[string]string
		want         int
	}{
		{"GET", "/api/v1/namespaces", map[string]string{"Cookie": session + "; _csrf=c", "Authorization": "Bearer mine"}, 200},
		{"POST", "/api/v1/namespaces/ns/workflows/wf/query/status", map[string]string{"Cookie": session}, 200},
		{"POST", "/api/v1/namespaces/ns/workflows/wf/query/status", map[string]string{"Cookie": session, "Sec-Fetch-Site": "same-site"}, 403},
		{"POST", "/api/v1/namespaces/ns/workflows/wf/terminate", map[string]string{"Cookie": session}, 403},
		{"POST", "/api/v1/namespaces/ns/workflows/wf/signal/%2Fquery%2Fx", map[string]string{"Cookie": session}, 403},
		{"POST", "/api/v1/namespaces/ns/workflows/a%2Fquery%2Fb/terminate", map[string]string{"Cookie": session}, 403},
		{"POST", "/api/v1/namespaces/ns/workflows/wf/query/status/../../terminate", map[string]string{"Cookie": session}, 403},
		{"DELETE", "/api/v1/namespaces/ns", map[string]string{"Cookie": session}, 403},
		{"GET", "/api/v1/namespaces", map[string]string{"Cookie": "quell-ui-1=" + string(g.token)}, 401},
		{"GET", "/api/v1/namespaces", map[string]string{"Authorization": "Bearer " + string(g.session)}, 401},
		{"GET", "/api/v1/namespaces?token=" + string(g.session), nil, 401},
	} {
		got = nil
		req := httptest.NewRequest(tc.method, "http://127.0.0.1:1"+tc.path, strings.NewReader(""))
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s %s %v = %d, want %d", tc.method, tc.path, tc.header, rec.Code, tc.want)
		}
		if forwarded := len(got) == 1; forwarded != (tc.want == 200) {
			t.Errorf("%s %s: forwarded %v, want %t", tc.method, tc.path, got, tc.want == 200)
		}
		for _, s := range got {
			if s.auth != "Bearer the-key" || strings.Contains(s.cookie, "quell-ui-1") {
				t.Errorf("%s %s: upstream got Authorization %q, Cookie %q; want the key and no session", tc.method, tc.path, s.auth, s.cookie)
			}
		}
	}
}

func TestGateLogin(t *testing.T) {
	g := newGate(&url.URL{Scheme: "http", Host: "127.0.0.1:1"}, "quell-ui-1", "", false)
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/namespaces/default/workflows?token="+string(g.token)+"&query=x", nil))
	if got, want := rec.Header().Get("Location"), "/namespaces/default/workflows?query=x"; rec.Code != http.StatusSeeOther || got != want {
		t.Errorf("login = %d to %q, want 303 to %q", rec.Code, got, want)
	}
	c := rec.Result().Cookies()
	if len(c) != 1 || c[0].Value != string(g.session) || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("login cookies = %+v", c)
	}
	rec = httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/?token="+string(g.token)+"x", nil))
	if rec.Code != http.StatusUnauthorized || len(rec.Result().Cookies()) != 0 {
		t.Errorf("wrong token = %d %v, want 401 and no cookie", rec.Code, rec.Result().Cookies())
	}
}

// TestUIServerHoldsNoKey reaches the UI server on its own port, around
// the gate: even a writable UI's server cannot act there, for the key is
// only in the gate.
func TestUIServerHoldsNoKey(t *testing.T) {
	srv, err := devserver.Start(devserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	s, err := Start(Options{TemporalAddress: srv.HostPort(), APIKey: srv.APIKey(), Writable: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	c := &http.Client{}
	resp, err := c.Get("http://" + s.inner + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "Request unauthorized") {
		t.Errorf("GET /api/v1/namespaces on the UI server's own port = %d %.200s, want 403 Request unauthorized", resp.StatusCode, b)
	}
}
