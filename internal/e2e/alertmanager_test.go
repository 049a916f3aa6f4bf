package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/toolcache"
)

// alertmanagerTool is Prometheus Alertmanager, built from its module; its
// zip lacks the web UI that npm builds, which a go:embed names.
var alertmanagerTool = toolcache.Tool{
	Module: "github.com/prometheus/alertmanager", Package: "cmd/alertmanager", Version: "v0.35.0", Name: "alertmanager",
	Placeholders: map[string]string{
		"ui/app/dist/elm/index.html":     "<!doctype html><title>Alertmanager</title>",
		"ui/app/dist/mantine/index.html": "<!doctype html><title>Alertmanager</title>",
	},
}

// amPlaybook is the library's containment for alerts Alertmanager sends
// about a container.
const amPlaybook = `name: alertmanager-container
description: Alertmanager says a container is attacked; isolate it and keep the evidence.
match:
  source: alertmanager
  target: docker
  min_priority: warning
  rules: ["*"]
  required_fields: [target.container_id]
steps:
  - id: contain
    kind: docker:isolate
  - id: preserve
    kind: evidence:snapshot
    with: {export: false, commit: false}
  - id: report
    kind: report:write
`

// alertmanager runs a real Alertmanager on loopback whose one receiver is
// quell's webhook at url, and returns its API's base URL.
func alertmanager(t *testing.T, webhook string) string {
	t.Helper()
	bin := toolcache.Binary(t, alertmanagerTool)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`route:
  receiver: quell
  group_by: [container_id]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1s
receivers:
  - name: quell
    webhook_configs:
      - url: %q
        send_resolved: true
`, webhook)
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs syncBuffer
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+dir,
		"--web.listen-address="+addr, "--cluster.listen-address=")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager's log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	waitFor(t, 30*time.Second, "alertmanager ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// postAlert gives Alertmanager an alert through its own API, as Prometheus does.
func postAlert(t *testing.T, am string, labels map[string]string, ends time.Time) {
	t.Helper()
	a := map[string]any{"labels": labels, "annotations": map[string]string{"summary": "shell in container"},
		"startsAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}
	if !ends.IsZero() {
		a["endsAt"] = ends.UTC().Format(time.RFC3339)
	}
	body, _ := json.Marshal([]any{a})
	resp, err := http.Post(am+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("alertmanager took the alert with %d", resp.StatusCode)
	}
}

// TestAlertmanagerContainsAndResolves: an alert that a real Alertmanager
// sends about a container opens an incident that isolates it; the
// resolution it sends later lands on the incident's timeline.
func TestAlertmanagerContainsAndResolves(t *testing.T) {
	rt := dockertest.Client(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yaml"), []byte(amPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, dir, nil)
	// Between Alertmanager and quell, a proxy counts the notifications.
	target, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	var notified atomic.Int32
	forward := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notified.Add(1)
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	am := alertmanager(t, proxy.URL+"/v1/alerts/alertmanager")
	ctr := victim(t, rt, "am-victim-"+randomSuffix())
	labels := map[string]string{"alertname": "ContainerShell", "severity": "critical", "container_id": ctr.ID[:12], "job": "falco-exporter"}
	postAlert(t, am, labels, time.Time{})

	var id string
	waitFor(t, time.Minute, "an incident for the container", func() bool {
		var list struct{ Incidents []map[string]any }
		s.do("GET", "/v1/incidents", "", nil, &list)
		for _, i := range list.Incidents {
			if v, _ := i["id"].(string); strings.HasPrefix(v, "docker-local-"+ctr.ID[:12]+".") {
				id = v
			}
		}
		return id != ""
	})
	cleanupIncident(t, rt, &id)
	inc := s.incident(id, time.Minute, func(i incident.Incident) bool { return i.ContainedAt != nil })
	if c, err := rt.Container(t.Context(), ctr.ID); err != nil || !c.Paused || len(c.Networks) != 0 {
		t.Errorf("container after the alert: %+v %v; want paused with no network", c, err)
	}
	if inc.Rule != "ContainerShell" || inc.Playbook != "alertmanager-container" {
		t.Errorf("incident rule %q playbook %q", inc.Rule, inc.Playbook)
	}

	// Alertmanager repeats the firing alert (repeat_interval 1s): one alert.
	waitFor(t, 30*time.Second, "Alertmanager to repeat its notification", func() bool { return notified.Load() >= 3 })
	if inc = s.incident(inc.ID, time.Minute, func(incident.Incident) bool { return true }); inc.AlertsCount != 1 {
		t.Errorf("after %d notifications of one alert: %d alerts on the incident, want 1", notified.Load(), inc.AlertsCount)
	}

	postAlert(t, am, labels, time.Now())
	s.incident(inc.ID, time.Minute, func(i incident.Incident) bool {
		return slices.ContainsFunc(i.Timeline, func(e incident.Event) bool { return e.Type == "alert.resolved" })
	})
}
