package webui_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/server/temporaltest"

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

func TestServesUIAndAPI(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	ns := ts.GetDefaultNamespace()
	ui, err := webui.Start(webui.Options{TemporalAddress: ts.GetFrontendHostPort(), Namespace: ns})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !strings.HasPrefix(ui.URL(), "http://127.0.0.1:") || strings.HasSuffix(ui.URL(), ":0") {
		t.Errorf("URL() = %q, want http://127.0.0.1:<picked port>", ui.URL())
	}
	client := &http.Client{Timeout: 10 * time.Second}

	body, ctype := get(t, client, ui.URL()+"/")
	if !strings.HasPrefix(ctype, "text/html") || !strings.Contains(strings.ToLower(body), "<html") {
		t.Errorf("GET / = %s %.80q, want an HTML page", ctype, body)
	}

	body, ctype = get(t, client, ui.URL()+"/api/v1/namespaces")
	if !strings.HasPrefix(ctype, "application/json") {
		t.Errorf("GET /api/v1/namespaces content type = %q, want application/json", ctype)
	}
	var list namespaceList
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("GET /api/v1/namespaces: %v in %.200q", err, body)
	}
	if !hasNamespace(list, ns) {
		t.Errorf("GET /api/v1/namespaces = %.300s, want namespace %q", body, ns)
	}

	if err := ui.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := ui.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := client.Get(ui.URL() + "/"); err == nil {
		t.Errorf("GET / after Stop succeeded, want connection refused")
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

// get fetches url, fails the test unless it answers 200, and returns the
// body and content type.
func get(t *testing.T, c *http.Client, url string) (body, contentType string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %.200q, want 200", url, resp.StatusCode, b)
	}
	return string(b), resp.Header.Get("Content-Type")
}

func hasNamespace(list namespaceList, name string) bool {
	for _, n := range list.Namespaces {
		if n.NamespaceInfo.Name == name {
			return true
		}
	}
	return false
}
