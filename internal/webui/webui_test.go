package webui_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/quell-ir/quell/internal/devserver"
	"github.com/quell-ir/quell/internal/devserver/devservertest"
	"github.com/quell-ir/quell/internal/webui"
)

// namespaceList is the part of ListNamespaces' JSON the test reads.
type namespaceList struct {
	Namespaces []struct {
		NamespaceInfo struct {
			Name string `json:"name"`
		} `json:"namespaceInfo"`
	} `json:"namespaces"`
}

// locked is an embedded Temporal server with one running workflow.
type locked struct {
	srv *devserver.Server
	c   client.Client
}

func startLocked(t *testing.T) *locked {
	t.Helper()
	srv, c := devservertest.Start(t, devserver.Options{Namespace: "quell-ui"})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "target", TaskQueue: "nobody-listens"}, "Anything"); err != nil {
		t.Fatal(err)
	}
	return &locked{srv: srv, c: c}
}

func (l *locked) status(t *testing.T) enumspb.WorkflowExecutionStatus {
	t.Helper()
	d, err := l.c.DescribeWorkflowExecution(t.Context(), "target", "")
	if err != nil {
		t.Fatal(err)
	}
	return d.GetWorkflowExecutionInfo().GetStatus()
}

// writes are the UI server's routes that act on a workflow.
func writes(ns string) map[string]string {
	wf := "/api/v1/namespaces/" + ns + "/workflows/target"
	return map[string]string{
		"terminate": wf + "/terminate",
		"cancel":    wf + "/cancel",
		"signal":    wf + "/signal/alerts",
		"update":    wf + "/update/decide",
		"reset":     wf + "/reset",
		"start":     "/api/v1/namespaces/" + ns + "/workflows/intruder",
		"batch":     "/api/v1/namespaces/" + ns + "/batch-operations/intruder",
	}
}

func TestNothingWithoutLogin(t *testing.T) {
	l := startLocked(t)
	ns := l.srv.Namespace()
	ui, err := webui.Start(webui.Options{TemporalAddress: l.srv.HostPort(), APIKey: l.srv.ReadOnlyKey(), Namespace: ns})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer ui.Stop()
	if !strings.HasPrefix(ui.URL(), "http://127.0.0.1:") || strings.HasSuffix(ui.URL(), ":0") {
		t.Errorf("URL() = %q, want http://127.0.0.1:<picked port>", ui.URL())
	}
	if got, want := ui.LoginURL(), ui.URL()+"/?token="; !strings.HasPrefix(got, want) || len(got) < len(want)+43 {
		t.Errorf("LoginURL() = %q, want %s<43 characters>", got, want)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	reads := []string{"/", "/namespaces/" + ns + "/workflows", "/api/v1/namespaces", "/api/v1/namespaces/" + ns + "/workflows/target",
		"/api/v1/namespaces/" + ns + "/workflows", "/api/v1/settings", "/?token=wrong"}
	for _, path := range reads {
		code, _, resp := send(t, c, "GET", ui.URL()+path, "", nil)
		if code != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
			t.Errorf("GET %s = %d with cookies %v, want 401 and none", path, code, resp.Cookies())
		}
	}
	for name, path := range writes(ns) {
		code, _, _ := send(t, c, "POST", ui.URL()+path, `{"reason":"intruder"}`, map[string]string{"X-CSRF-Token": "x", "Cookie": "_csrf=x"})
		if code != http.StatusUnauthorized {
			t.Errorf("%s: POST %s = %d, want 401", name, path, code)
		}
	}
	if got := l.status(t); got != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("status = %v, want running", got)
	}
}

func TestLoginReadsButWritesRefused(t *testing.T) {
	l := startLocked(t)
	ns := l.srv.Namespace()
	ui, err := webui.Start(webui.Options{TemporalAddress: l.srv.HostPort(), APIKey: l.srv.ReadOnlyKey(), Namespace: ns})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	c := login(t, ui)

	body, ctype := get(t, c, ui.URL()+"/")
	if !strings.HasPrefix(ctype, "text/html") || !strings.Contains(strings.ToLower(body), "<html") {
		t.Errorf("GET / = %s %.80q, want an HTML page", ctype, body)
	}
	body, _ = get(t, c, ui.URL()+"/api/v1/namespaces")
	var list namespaceList
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("GET /api/v1/namespaces: %v in %.200q", err, body)
	}
	if !hasNamespace(list, ns) {
		t.Errorf("GET /api/v1/namespaces = %.300s, want namespace %q", body, ns)
	}
	if body, _ := get(t, c, ui.URL()+"/api/v1/namespaces/"+ns+"/workflows/target"); !strings.Contains(body, `"workflowId": "target"`) {
		t.Errorf("describe target = %.300s", body)
	}

	csrf := csrfToken(t, c, ui.URL())
	for name, path := range writes(ns) {
		code, body, _ := send(t, c, "POST", ui.URL()+path, `{"reason":"intruder"}`, map[string]string{"X-CSRF-Token": csrf})
		if want := "quell: the Temporal Web UI is read-only; act on incidents through quell's API\n"; code != http.StatusForbidden || body != want {
			t.Errorf("%s: POST %s = %d %q, want 403 %q", name, path, code, body, want)
		}
	}
	if got := l.status(t); got != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("status = %v, want running", got)
	}

	if err := ui.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := ui.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := c.Get(ui.URL() + "/"); err == nil {
		t.Errorf("GET / after Stop succeeded, want connection refused")
	}
}

func TestWritableTerminates(t *testing.T) {
	l := startLocked(t)
	ns := l.srv.Namespace()
	ui, err := webui.Start(webui.Options{TemporalAddress: l.srv.HostPort(), APIKey: l.srv.APIKey(), Writable: true, Namespace: ns})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer ui.Stop()
	c := login(t, ui)
	csrf := csrfToken(t, c, ui.URL())
	path := writes(ns)["terminate"]
	// From another site, even with the cookie: refused.
	code, _, _ := send(t, c, "POST", ui.URL()+path, `{"reason":"elsewhere"}`, map[string]string{"X-CSRF-Token": csrf, "Origin": "http://127.0.0.1:1"})
	if code != http.StatusForbidden {
		t.Errorf("cross-origin POST = %d, want 403", code)
	}
	if got := l.status(t); got != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after a cross-origin terminate = %v, want running", got)
	}
	code, body, _ := send(t, c, "POST", ui.URL()+path, `{"reason":"operator"}`, map[string]string{"X-CSRF-Token": csrf, "Origin": ui.URL()})
	if code != http.StatusOK {
		t.Fatalf("POST %s = %d %.300s, want 200", path, code, body)
	}
	if got := l.status(t); got != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Errorf("status = %v, want terminated", got)
	}
}

func TestStartRefusesBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	ui, err := webui.Start(webui.Options{TemporalAddress: "127.0.0.1:1", Port: port})
	if err == nil {
		ui.Stop()
		t.Fatalf("Start on busy port %d succeeded, want an error", port)
	}
}

// login opens the login URL and returns a client holding the session
// cookie, after checking the cookie and the redirect.
func login(t *testing.T, ui *webui.Server) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	code, _, resp := send(t, c, "GET", ui.LoginURL(), "", nil)
	if code != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("GET login URL = %d to %q, want 303 to /", code, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/" {
		t.Fatalf("login cookies = %+v, want one HttpOnly SameSite=Strict cookie for /", cookies)
	}
	if strings.Contains(ui.LoginURL(), cookies[0].Value) {
		t.Errorf("the session cookie is the login token")
	}
	c.CheckRedirect = nil
	return c
}

// csrfToken fetches the front page for the UI server's CSRF cookie.
func csrfToken(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	get(t, c, base+"/")
	u, _ := http.NewRequest("GET", base+"/", nil)
	for _, k := range c.Jar.Cookies(u.URL) {
		if k.Name == "_csrf" {
			return k.Value
		}
	}
	t.Fatal("no _csrf cookie after login")
	return ""
}

// send makes a request and returns its status and body.
func send(t *testing.T, c *http.Client, method, url, body string, header map[string]string) (int, string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// get fetches url, fails the test unless it answers 200, and returns the
// body and content type.
func get(t *testing.T, c *http.Client, url string) (body, contentType string) {
	t.Helper()
	code, body, resp := send(t, c, "GET", url, "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %.200q, want 200", url, code, body)
	}
	return body, resp.Header.Get("Content-Type")
}

func hasNamespace(list namespaceList, name string) bool {
	for _, n := range list.Namespaces {
		if n.NamespaceInfo.Name == name {
			return true
		}
	}
	return false
}
