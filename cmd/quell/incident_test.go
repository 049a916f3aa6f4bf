package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/api"
	"github.com/quell-ir/quell/internal/auth"
	"github.com/quell-ir/quell/internal/incident"
)

// oneIncident is the incident store behind a real API handler for these
// tests: one incident awaiting approval on step "approve", which a
// decision completes. (internal/e2e runs the same client against the whole
// stack.)
type oneIncident struct {
	mu  sync.Mutex
	inc incident.Incident
}

func (o *oneIncident) Open(context.Context, alert.Alert) (incident.Opened, error) {
	return incident.Opened{}, incident.ErrUnmatched
}
func (o *oneIncident) Health(context.Context) error { return nil }

func (o *oneIncident) Get(_ context.Context, id string) (incident.Incident, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if id != o.inc.ID {
		return incident.Incident{}, fmt.Errorf("incident %q: %w", id, incident.ErrNotFound)
	}
	return o.inc, nil
}

func (o *oneIncident) List(context.Context) ([]incident.Summary, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return []incident.Summary{{ID: o.inc.ID, Status: o.inc.Status, Playbook: o.inc.Playbook, Target: o.inc.Target, OpenedAt: o.inc.OpenedAt}}, nil
}

func (o *oneIncident) Decide(_ context.Context, id string, d incident.DecisionRequest) (incident.Decision, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if id != o.inc.ID {
		return incident.Decision{}, fmt.Errorf("incident %q: %w", id, incident.ErrNotFound)
	}
	o.inc.Status, o.inc.Steps[1].Status = incident.StatusCompleted, incident.StepSucceeded
	return incident.Decision{Step: d.Step, Decision: d.Decision, Approver: d.Approver, At: time.Now()}, nil
}

func apiServer(t *testing.T) *oneIncident {
	t.Helper()
	o := &oneIncident{inc: incident.Incident{
		ID: "docker-h-abc.run-1", Status: incident.StatusAwaitingApproval, Playbook: "compromised-container", Rule: "Terminal shell in container",
		Target: alert.Target{Kind: "docker", ContainerID: "abcdef012345", ContainerName: "web"}, OpenedAt: time.Now().Add(-time.Minute),
		Steps: []incident.Step{
			{ID: "contain", Kind: "docker:isolate", Status: incident.StepSucceeded, Summary: "cut off 1 network\nand paused"},
			{ID: "approve", Kind: "approval", Status: incident.StepAwaitingApproval},
		},
	}}
	srv := httptest.NewServer(api.New(api.Options{Incidents: o}).Handler())
	t.Cleanup(srv.Close)
	t.Setenv("QUELL_SERVER", srv.URL)
	t.Setenv("QUELL_TOKEN", "")
	return o
}

func TestIncidentCommands(t *testing.T) {
	apiServer(t)
	out, err := runCmd(t, "incident", "list")
	if err != nil || !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "docker-h-abc.run-1  awaiting_approval  compromised-container  container web abcdef012345  1m") {
		t.Errorf("list: %v\n%s", err, out)
	}
	if out, _ := runCmd(t, "incident", "list", "--status", "completed"); strings.Contains(out, "docker-h-abc") {
		t.Errorf("list --status completed:\n%s", out)
	}
	out, err = runCmd(t, "incident", "show", "docker-h-abc.run-1")
	if err != nil || !strings.Contains(out, "status:   awaiting_approval") || !strings.Contains(out, "cut off 1 network and paused") {
		t.Errorf("show: %v\n%s", err, out)
	}
	out, err = runCmd(t, "incident", "watch", "docker-h-abc.run-1")
	if err != nil || !strings.Contains(out, "contain              succeeded") || !strings.HasSuffix(out, "incident docker-h-abc.run-1: awaiting_approval\n") {
		t.Errorf("watch: %v\n%s", err, out)
	}
	out, err = runCmd(t, "incident", "approve", "docker-h-abc.run-1", "approve", "--as", "carol", "--comment", "go")
	if err != nil || out != "incident docker-h-abc.run-1: step approve approved by carol\n" {
		t.Errorf("approve: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "incident", "show", "docker-h-abc.run-1", "--json"); err != nil || !strings.Contains(out, `"status": "completed"`) {
		t.Errorf("show --json after the approval: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "r.html")
	if _, err := runCmd(t, "report", "docker-h-abc.run-1", "--format", "html", "-o", file); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); !strings.HasPrefix(string(b), "<!DOCTYPE html>") {
		t.Errorf("report file: %.60s", b)
	}
}

// TestIncidentCommandErrors: each failure a person meets at a terminal is
// named and exits non-zero: an unknown incident, a refused credential, a
// server that is not there, and a usage mistake (exit 2).
func TestIncidentCommandErrors(t *testing.T) {
	apiServer(t)
	if _, err := runCmd(t, "incident", "show", "nope.nope"); err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown incident: %v (exit %d)", err, exitCode(err))
	}
	if _, err := runCmd(t, "incident", "approve", "nope.nope", "approve", "--as", "carol"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("approve an unknown incident: %v", err)
	}
	if _, err := runCmd(t, "incident", "list", "--server", "http://127.0.0.1:1"); err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("no server: %v (exit %d)", err, exitCode(err))
	}
	for _, args := range [][]string{{"incident"}, {"incident", "show"}, {"incident", "approve", "x"}, {"incident", "list", "--server", "ftp://x"}, {"report", "x", "--format", "pdf"}} {
		if _, err := runCmd(t, args...); exitCode(err) != 2 {
			t.Errorf("%v = %v, want a usage error", args, err)
		}
	}
	// A server with credentials refuses a wrong token.
	o := &oneIncident{inc: incident.Incident{ID: "a.b"}}
	h, err := serveWithToken(t, o, "quell-cli-test-token-0123456789abcdef0123")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("QUELL_TOKEN", "quell-cli-test-wrong-token-0123456789abcd")
	if _, err := runCmd(t, "incident", "list", "--server", h); err == nil || !strings.Contains(err.Error(), "refused the credential") {
		t.Errorf("wrong token: %v", err)
	}
}

// serveWithToken serves the API over o to the one admin holding token,
// and returns its URL.
func serveWithToken(t *testing.T, o *oneIncident, token string) (string, error) {
	a, err := auth.New(auth.Options{LegacyToken: token})
	if err != nil {
		return "", err
	}
	srv := httptest.NewServer(api.New(api.Options{Incidents: o, Auth: a}).Handler())
	t.Cleanup(srv.Close)
	return srv.URL, nil
}
