package e2e

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/registry"
	"github.com/quell-ir/quell/internal/registry/registrytest"
)

// registryApp is the acceptance layout in a loopback registry: a base
// image, app:1 built on it (the bad build), two images built on app:1, and
// a sibling built on the base only.
type registryApp struct {
	appImage
	reg     *registrytest.Registry
	c       *registry.Client
	prefix  string // <registry>/quell-test/<suffix>-
	digest  string // app:1's manifest digest
	derived []string
}

const registryAppDockerfile = `FROM %BASE%
COPY version /version
LABEL quell.test=1
HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD ["/bin/busybox", "test", "-f", "/version"]
CMD ["/bin/busybox", "sleep", "86400"]
`

func newRegistryApp(t *testing.T, rt *docker.Client, o registrytest.Options) *registryApp {
	t.Helper()
	reg := registrytest.Start(t, o)
	c, err := registry.New([]registry.Host{{Name: reg.Host}}, registry.WithEngine(rt.API()))
	if err != nil {
		t.Fatal(err)
	}
	a := &registryApp{reg: reg, c: c, prefix: reg.Host + "/quell-test/r" + randomSuffix() + "-"}
	push := func(ref, dockerfile, content string) (string, string) {
		t.Helper()
		id := dockertest.BuildFrom(t, rt, ref, dockerfile, map[string][]byte{"version": []byte(content)})
		d, err := c.Push(t.Context(), ref, nil)
		if err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
		return id, d
	}
	base := a.prefix + "base:1"
	push(base, "FROM scratch\nCOPY busybox /bin/busybox\n", "")
	app := strings.Replace(registryAppDockerfile, "%BASE%", base, 1)
	a.repo = a.prefix + "app"
	a.ref = a.repo + ":1"
	a.id, a.digest = push(a.ref, app, "1 (poisoned)\n")
	for _, name := range []string{"derived-a", "derived-b"} {
		ref := a.prefix + name + ":1"
		id, _ := push(ref, "FROM "+a.ref+"\nCOPY version /"+name+"\n", name)
		a.derived = append(a.derived, ref)
		// Built elsewhere, as a CI would: only the registry has them, so
		// they are not child images that keep app:1 on this daemon.
		if _, err := rt.RemoveImage(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	push(a.prefix+"sibling:1", "FROM "+base+"\nCOPY version /sibling\n", "sibling")
	a.source = t.TempDir()
	if err := os.WriteFile(filepath.Join(a.source, "version"), []byte("1 (clean)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a.source, "Dockerfile"), []byte(app), 0o644); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *registryApp) stack(t *testing.T) *stack {
	return startStack(t, "", func(c *config.Config) {
		c.Approvals.Approvers = []string{"carol"}
		c.Images = []config.ImageSource{{Repository: a.repo, Context: a.source}}
		c.Registries = []config.Registry{{Host: a.reg.Host}}
	})
}

// recover runs the vulnerable-image playbook on app:1 with two units and
// returns the finished incident.
func (a *registryApp) recover(t *testing.T, s *stack, rt *docker.Client) (incident.Incident, []string) {
	t.Helper()
	network := dockertest.Network(t, rt)
	names := []string{"reg-a-" + randomSuffix(), "reg-b-" + randomSuffix()}
	for _, n := range names {
		service(t, rt, a.appImage, network, n)
	}
	var o opened
	if code := s.do("POST", "/v1/alerts/trivy", "", trivyReport(t, a.appImage), &o); code != http.StatusAccepted {
		t.Fatalf("trivy report: %d", code)
	}
	cleanupIncident(t, rt, &o.IncidentID)
	s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusAwaitingApproval))
	s.approve(o.IncidentID, "approve-recovery")
	return s.incident(o.IncidentID, 5*time.Minute, hasStatus(incident.StatusCompleted)), names
}

func stepTook(inc incident.Incident, id string) time.Duration {
	st, ok := inc.Step(id)
	if !ok || st.StartedAt == nil || st.FinishedAt == nil {
		return 0
	}
	return st.FinishedAt.Sub(*st.StartedAt)
}

// TestRegistryVulnerableImageRecovery is the acceptance scenario: the clean
// image is pushed under a new digest, the old digest and its tag are gone
// from the registry, the units run the clean image by digest, and the
// report lists both images built on app:1 as the blast radius.
func TestRegistryVulnerableImageRecovery(t *testing.T) {
	rt := dockertest.Client(t)
	a := newRegistryApp(t, rt, registrytest.Options{})
	s := a.stack(t)
	inc, names := a.recover(t, s, rt)
	for _, st := range inc.Steps {
		if st.Status != incident.StepSucceeded {
			t.Errorf("step %s: %s %s", st.ID, st.Status, st.Error)
		}
	}
	t.Logf("push took %s, blast radius %s, registry delete %s", stepTook(inc, "push"), stepTook(inc, "blast-radius"), stepTook(inc, "delete-from-registry"))

	clean, err := a.c.Resolve(t.Context(), a.ref)
	if err != nil {
		t.Fatal(err)
	}
	pinned := inc.Image.PinnedRef()
	if clean.Digest == a.digest || clean.Config != inc.Image.NewImageID || pinned != a.repo+"@"+clean.Digest {
		t.Errorf("%s in the registry = %+v, pinned %s; want the clean image %s under a new digest", a.ref, clean, pinned, inc.Image.NewImageID)
	}
	old := a.repo + "@" + a.digest
	if _, err := a.c.Resolve(t.Context(), old); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("old digest in the registry: %v, want not found", err)
	}
	if err := pull(t, rt, old); err == nil {
		t.Errorf("pull %s succeeded, want it to fail", old)
	}
	for _, n := range names {
		c, err := rt.Container(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		ins, err := rt.API().ContainerInspect(t.Context(), c.ID, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ins.Container.Config.Image; c.ImageID != inc.Image.NewImageID || got != pinned || !c.Running {
			t.Errorf("%s runs %s (created from %s), want %s by digest %s", n, c.ImageID, got, inc.Image.NewImageID, pinned)
		}
	}
	repo := strings.TrimPrefix(a.repo, a.reg.Host+"/")
	if puts, dels := a.reg.ManifestPuts(repo), a.reg.ManifestDeletes(repo); puts != 2 || dels != 1 {
		t.Errorf("registry log: %d manifest PUTs, %d DELETEs to %s; want 2 (the bad build, the clean one) and 1", puts, dels, repo)
	}
	b := inc.Image.BlastRadius
	var affected []string
	for _, x := range b.Affected {
		affected = append(affected, x.Repository+":"+strings.Join(x.Tags, ","))
	}
	if !slices.Equal(affected, a.derived) {
		t.Errorf("blast radius = %v (base: %s), want %v", affected, b.Base, a.derived)
	}
	report := s.get("/v1/incidents/" + inc.ID + "/report")
	for _, want := range append([]string{"### Blast radius", "- Pushed `" + a.ref + "` as `" + pinned + "`", "- Deleted `" + old + "`"},
		strings.TrimPrefix(a.prefix, a.reg.Host+"/")+"derived-a", strings.TrimPrefix(a.prefix, a.reg.Host+"/")+"derived-b") {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

// TestRegistryRefusingDeletes: a registry that refuses deletes leaves the
// incident completed, the refusal in the report and the timeline.
func TestRegistryRefusingDeletes(t *testing.T) {
	rt := dockertest.Client(t)
	a := newRegistryApp(t, rt, registrytest.Options{RefuseDeletes: true})
	s := a.stack(t)
	inc, _ := a.recover(t, s, rt)
	st, _ := inc.Step("delete-from-registry")
	want := "registry refuses deletes: image " + a.id + " survives in " + a.repo + "@" + a.digest + " (405 UNSUPPORTED)"
	if st.Status != incident.StepFailed || st.Error != want {
		t.Errorf("delete-from-registry = %s %q, want failed %q", st.Status, st.Error, want)
	}
	if !slices.ContainsFunc(inc.Timeline, func(e incident.Event) bool { return e.Type == "step.failed" && e.Message == want }) {
		t.Errorf("timeline lacks the refusal")
	}
	if got, want := inc.Resolution, "every step ran; failed and continued: [delete-from-registry]"; got != want {
		t.Errorf("resolution = %q, want %q", got, want)
	}
	if a.reg.Requests("DELETE", "/manifests/") != 0 {
		t.Errorf("the refusing registry logged a successful delete")
	}
	if n := strings.Count(a.reg.Log(), `"DELETE /v2/`); n != 1 {
		t.Errorf("%d DELETE requests in the registry's log, want 1: a refusal is not retried", n)
	}
	report := s.get("/v1/incidents/" + inc.ID + "/report")
	if !strings.Contains(report, "- **Survives** in `"+a.repo+"@"+a.digest+"`") {
		t.Errorf("report does not say the image survives:\n%s", report)
	}
}

// pull has the daemon pull ref and returns the error it reports.
func pull(t *testing.T, rt *docker.Client, ref string) error {
	t.Helper()
	resp, err := rt.API().ImagePull(t.Context(), ref, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer resp.Close()
	return resp.Wait(t.Context())
}
