package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/registry/registrytest"
)

// TestWorkerKilledDuringRegistrySteps SIGKILLs the worker process as the
// registry sees the push's first blob upload, and as it sees the delete,
// then starts it again: the incident completes, the registry's log holds
// one manifest PUT for the clean image and one DELETE of the bad one, and
// the report records both.
func TestWorkerKilledDuringRegistrySteps(t *testing.T) {
	bin := quellBinary(t)
	for _, tc := range []struct {
		step, method, path string
	}{
		{"push", "POST", `/v2/.*/blobs/uploads/`},
		{"delete-from-registry", "DELETE", `/v2/.*/manifests/sha256:`},
	} {
		t.Run(tc.step, func(t *testing.T) { killAtRequest(t, bin, tc.step, tc.method, tc.path) })
	}
}

func killAtRequest(t *testing.T, bin, step, method, path string) {
	rt := dockertest.Client(t)
	a := newRegistryApp(t, rt, registrytest.Options{})
	s, worker := workerStack(t, bin, rt, fmt.Sprintf("approvals: {approvers: [carol]}\nimages:\n  - {repository: %s, context: %s}\nregistries:\n  - {host: %q}\n",
		a.repo, a.source, a.reg.Host))
	network := dockertest.Network(t, rt)
	for _, n := range []string{"regkill-a-" + randomSuffix(), "regkill-b-" + randomSuffix()} {
		service(t, rt, a.appImage, network, n)
	}
	before := a.reg.Requests(method, path)
	var o opened
	if code := s.do("POST", "/v1/alerts/trivy", "", trivyReport(t, a.appImage), &o); code != http.StatusAccepted {
		t.Fatalf("trivy report: %d", code)
	}
	cleanupIncident(t, rt, &o.IncidentID)
	s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusAwaitingApproval))
	s.approve(o.IncidentID, "approve-recovery")
	waitFor(t, 3*time.Minute, fmt.Sprintf("the registry to see %s %s", method, path), func() bool {
		return a.reg.Requests(method, path) > before
	})
	worker.kill()
	time.Sleep(time.Second)
	worker.start()

	inc := s.incident(o.IncidentID, 4*time.Minute, func(i incident.Incident) bool { return i.Status != incident.StatusRunning })
	for _, st := range inc.Steps {
		if st.Status != incident.StepSucceeded {
			t.Errorf("step %s: %s %s", st.ID, st.Status, st.Error)
		}
	}
	repo := strings.TrimPrefix(a.repo, a.reg.Host+"/")
	if puts, dels := a.reg.ManifestPuts(repo), a.reg.ManifestDeletes(repo); puts != 2 || dels != 1 {
		t.Errorf("killed during %s: %d manifest PUTs, %d DELETEs to %s; want 2 (the bad build, the clean one) and 1",
			step, puts, dels, repo)
	}
	report := s.get("/v1/incidents/" + inc.ID + "/report")
	for _, want := range []string{"- Pushed `" + a.ref + "` as `" + inc.Image.PinnedRef() + "`", "- Deleted `" + a.repo + "@" + a.digest + "`"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}
