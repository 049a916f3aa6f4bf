package e2e

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/devserver"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/incident"
)

// workerProcess runs `quell worker` against the test's Temporal server.
type workerProcess struct {
	t    *testing.T
	bin  string
	args []string
	cmd  *exec.Cmd
}

func (w *workerProcess) start() {
	w.t.Helper()
	w.cmd = exec.Command(w.bin, w.args...)
	w.cmd.Stdout, w.cmd.Stderr = io.Discard, io.Discard
	if err := w.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
}

func (w *workerProcess) kill() {
	if w.cmd != nil && w.cmd.ProcessState == nil {
		_ = w.cmd.Process.Signal(syscall.SIGKILL)
		_ = w.cmd.Wait()
	}
}

// TestWorkerKilledDuringRecovery SIGKILLs the worker process while it
// rebuilds the image, and while it replaces the units, then starts it again:
// the incident finishes with exactly one replacement per unit and one
// rebuilt image, and nothing left over.
func TestWorkerKilledDuringRecovery(t *testing.T) {
	bin := quellBinary(t)
	for _, step := range []string{"rebuild", "replace"} {
		t.Run(step, func(t *testing.T) { killDuring(t, bin, step) })
	}
}

func killDuring(t *testing.T, bin, step string) {
	rt := dockertest.Client(t)
	img := newAppImage(t, rt)
	s, worker := workerStack(t, bin, rt, fmt.Sprintf("approvals: {approvers: [carol]}\nimages:\n  - {repository: %s, context: %s}\n", img.repo, img.source))

	network := dockertest.Network(t, rt)
	units := []string{"svc-a-" + randomSuffix(), "svc-b-" + randomSuffix()}
	for _, name := range units {
		service(t, rt, img, network, name)
	}
	var o opened
	if code := s.do("POST", "/v1/alerts/trivy", "", trivyReport(t, img), &o); code != http.StatusAccepted {
		t.Fatalf("trivy report: %d", code)
	}
	cleanupIncident(t, rt, &o.IncidentID)
	s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusAwaitingApproval))
	s.approve(o.IncidentID, "approve-recovery")
	s.incident(o.IncidentID, time.Minute, func(i incident.Incident) bool {
		st, _ := i.Step(step)
		return st.Status == incident.StepRunning
	})
	worker.kill()
	time.Sleep(2 * time.Second) // let whatever the daemon was doing land
	worker.start()

	inc := s.incident(o.IncidentID, 4*time.Minute, hasStatus(incident.StatusCompleted))
	for _, st := range inc.Steps {
		if st.Status != incident.StepSucceeded {
			t.Errorf("step %s: %s %s", st.ID, st.Status, st.Error)
		}
	}
	made, _ := rt.FindByLabel(t.Context(), "quell.incident", o.IncidentID)
	if len(made) != len(units) {
		t.Errorf("quell made %d containers for %d units: %+v", len(made), len(units), made)
	}
	for _, u := range inc.Units {
		repl, _ := rt.FindByLabel(t.Context(), "quell.replaces", u.ContainerID)
		if len(repl) != 1 {
			t.Errorf("unit %s has %d replacements", u.Name, len(repl))
		}
	}
	built, _ := rt.ImagesByLabel(t.Context(), "quell.incident", o.IncidentID)
	if len(built) != 1 {
		t.Errorf("%d rebuilt images left for the incident, want 1: %+v", len(built), built)
	}
}

// workerStack starts a Temporal server, a `quell worker` process on the
// config (YAML, data_dir added) and an API in the test, and returns them.
func workerStack(t *testing.T, bin string, rt *docker.Client, configYAML string) (*stack, *workerProcess) {
	t.Helper()
	dir := t.TempDir()
	srv, err := devserver.Start(devserver.Options{DBPath: filepath.Join(dir, "temporal.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	cfgFile := filepath.Join(dir, "quell.yaml")
	if err := os.WriteFile(cfgFile, []byte("data_dir: "+dir+"\n"+configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Temporal.Address = srv.HostPort()
	worker := &workerProcess{t: t, bin: bin, args: []string{"worker", "--config", cfgFile, "--temporal-address", srv.HostPort()}}
	worker.start()
	t.Cleanup(worker.kill)

	log := slog.New(slog.DiscardHandler)
	c, err := app.Dial(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kinds, err := app.Kinds()
	if err != nil {
		t.Fatal(err)
	}
	pbs, _ := app.LoadPlaybooks("", kinds)
	api := httptest.NewServer(app.NewAPI(c, cfg, pbs, log))
	t.Cleanup(api.Close)
	return &stack{t: t, cfg: cfg, docker: rt, client: c, url: api.URL}, worker
}
