package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/incident"
)

// appImage is a service image: the "bad" build, and its trusted source.
type appImage struct {
	repo, ref, id string
	source        string
}

const appDockerfile = `FROM scratch
COPY busybox /bin/busybox
COPY version /version
LABEL quell.test=1
LABEL org.opencontainers.image.source=https://attacker.example/poisoned
ENV SERVICE=app
HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD ["/bin/busybox", "test", "-f", "/version"]
CMD ["/bin/busybox", "sleep", "86400"]
`

// newAppImage builds <repo>:1 from a "compromised" context and writes a
// trusted source directory for the same repository.
func newAppImage(t *testing.T, rt *docker.Client) appImage {
	t.Helper()
	repo := "quell-test/app-" + randomSuffix()
	img := appImage{repo: repo, ref: repo + ":1", source: t.TempDir()}
	img.id = dockertest.BuildFrom(t, rt, img.ref, appDockerfile, map[string][]byte{"version": []byte("1 (poisoned)\n")})
	files := map[string][]byte{
		"busybox": dockertest.Busybox(t), "version": []byte("1 (clean)\n"),
		"Dockerfile": []byte(strings.Replace(appDockerfile, "https://attacker.example/poisoned", "ignored", 1)),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(img.source, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// cleanupIncident removes what quell created for the incident: the
// replacements and the rebuilt image.
func cleanupIncident(t *testing.T, rt *docker.Client, id *string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cs, _ := rt.FindByLabel(ctx, "quell.incident", *id)
		for _, c := range cs {
			_ = rt.Remove(ctx, c.ID)
		}
		imgs, _ := rt.ImagesByLabel(ctx, "quell.incident", *id)
		for _, img := range imgs {
			if _, err := rt.RemoveImage(ctx, img.ID); err != nil && !errors.Is(err, docker.ErrNotFound) {
				t.Errorf("remove rebuilt image %s: %v", img.ID, err)
			}
		}
	})
}

// service runs a unit of the app on the network, with env, a bind mount and
// a restart policy to carry over.
func service(t *testing.T, rt *docker.Client, img appImage, network, name string) docker.Container {
	t.Helper()
	return dockertest.Run(t, rt, img.ref, dockertest.RunOptions{
		Name: name, Networks: []string{network}, Aliases: []string{name + "-alias"}, Env: []string{"DB_URL=postgres://db/app"},
		Cmd: []string{"/bin/busybox", "sleep", "86400"},
	})
}

func trivyReport(t *testing.T, img appImage) []byte {
	t.Helper()
	b, err := os.ReadFile("../../../shared/samples/trivy_integration-testdata_alpine-39-high-critical.json.golden")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	doc["ArtifactName"] = img.ref
	meta := doc["Metadata"].(map[string]any)
	meta["ImageID"], meta["RepoTags"], meta["Reference"] = img.id, []string{img.ref}, img.ref
	out, _ := json.Marshal(doc)
	return out
}

func (s *stack) approve(id, step string) {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"step": step, "decision": "approve", "approver": "carol", "comment": "replace it"})
	if code := s.do("POST", "/v1/incidents/"+id+"/decisions", "", body, nil); code != http.StatusOK {
		s.t.Fatalf("approve %s: %d", step, code)
	}
}

func TestTrivyReportReplacesEveryUnit(t *testing.T) {
	rt := dockertest.Client(t)
	img := newAppImage(t, rt)
	s := startStack(t, "", func(c *config.Config) {
		c.Approvals.Approvers = []string{"carol"}
		c.Images = []config.ImageSource{{Repository: img.repo, Context: img.source}}
	})
	network := dockertest.Network(t, rt)
	names := []string{"app-a-" + randomSuffix(), "app-b-" + randomSuffix()}
	old := []docker.Container{service(t, rt, img, network, names[0]), service(t, rt, img, network, names[1])}

	var o opened
	if code := s.do("POST", "/v1/alerts/trivy", "", trivyReport(t, img), &o); code != http.StatusAccepted {
		t.Fatalf("trivy report: %d", code)
	}
	cleanupIncident(t, rt, &o.IncidentID)
	waiting := s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusAwaitingApproval))
	if len(waiting.Units) != 2 {
		t.Fatalf("units = %+v, want both containers", waiting.Units)
	}
	s.approve(o.IncidentID, "approve-recovery")
	inc := s.incident(o.IncidentID, 5*time.Minute, hasStatus(incident.StatusCompleted))
	for _, st := range inc.Steps {
		if st.Status != incident.StepSucceeded {
			t.Errorf("step %s: %s %s", st.ID, st.Status, st.Error)
		}
	}

	clean, err := rt.ImageInspect(t.Context(), img.ref)
	if err != nil {
		t.Fatal(err)
	}
	if clean.ID == img.id || clean.Labels["quell.incident"] != o.IncidentID || clean.Labels["org.opencontainers.image.source"] != img.source ||
		!strings.HasPrefix(clean.Labels["org.opencontainers.image.revision"], "sha256:") || clean.Labels["org.opencontainers.image.created"] == "" {
		t.Errorf("tag %s now = %s labels %v, want the rebuilt image with provenance", img.ref, clean.ID, clean.Labels)
	}
	if _, err := rt.ImageInspect(t.Context(), img.id); !errors.Is(err, docker.ErrNotFound) {
		t.Errorf("old image %s still on the daemon: %v", img.id, err)
	}
	for i, name := range names {
		c, err := rt.Container(t.Context(), name)
		if err != nil {
			t.Fatalf("%s after replacement: %v", name, err)
		}
		if c.ID == old[i].ID || c.ImageID != clean.ID || !c.Running {
			t.Errorf("%s = %+v, want a new running container of %s", name, c, clean.ID)
		}
		spec, _ := rt.Spec(t.Context(), c.ID)
		if !slices.Contains(spec.Config.Env, "DB_URL=postgres://db/app") {
			t.Errorf("%s lost its env: %v", name, spec.Config.Env)
		}
		atts, _ := rt.Attachments(t.Context(), c.ID)
		if len(atts) != 1 || atts[0].Network != network || !slices.Contains(atts[0].Aliases, name+"-alias") {
			t.Errorf("%s networks = %+v", name, atts)
		}
		if _, err := rt.Container(t.Context(), old[i].ID); !errors.Is(err, docker.ErrNotFound) {
			t.Errorf("old %s still there: %v", name, err)
		}
	}
	// Reachable by name on the same network.
	out := dockertest.Exec(t, rt, inc.Units[0].Replacement.ContainerID, "/bin/busybox", "ping", "-c", "1", "-W", "2", names[1])
	if !strings.Contains(out, "1 packets received") {
		t.Errorf("%s cannot reach %s by name: %s", names[0], names[1], out)
	}
	report := s.get("/v1/incidents/" + o.IncidentID + "/report")
	for _, want := range []string{names[0], names[1], shortID(img.id), shortID(clean.ID)} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %s", want)
		}
	}
	s.recordHistory(o.IncidentID, "trivy-recovered")
}

func TestFalcoAlertRecoversCompromisedContainer(t *testing.T) {
	rt := dockertest.Client(t)
	img := newAppImage(t, rt)
	s := startStack(t, "", func(c *config.Config) {
		c.Approvals.Approvers = []string{"carol"}
		c.Images = []config.ImageSource{{Repository: img.repo, Context: img.source}}
	})
	network := dockertest.Network(t, rt)
	name := "web-" + randomSuffix()
	victim := service(t, rt, img, network, name)
	dockertest.Exec(t, rt, victim.ID, "/bin/busybox", "sh", "-c", "echo implant > /implant")

	var o opened
	if code := s.do("POST", "/v1/alerts/falco", "", falcoAlert(t, victim.ID), &o); code != http.StatusAccepted {
		t.Fatalf("alert: %d", code)
	}
	cleanupIncident(t, rt, &o.IncidentID)
	s.incident(o.IncidentID, time.Minute, contained)
	s.approve(o.IncidentID, "approve-recovery")
	inc := s.incident(o.IncidentID, 5*time.Minute, hasStatus(incident.StatusCompleted))
	var steps []string
	for _, st := range inc.Steps {
		steps = append(steps, st.ID+"="+st.Status)
	}
	want := "contain=succeeded preserve=succeeded verify=succeeded find-siblings=succeeded approve-recovery=succeeded rebuild=succeeded " +
		"replace=succeeded remove-quarantined=succeeded delete-image=succeeded report=succeeded"
	if got := strings.Join(steps, " "); got != want {
		t.Fatalf("steps = %s\nwant %s\n%s", got, want, s.get("/v1/incidents/"+o.IncidentID+"/report"))
	}
	c, err := rt.Container(t.Context(), name)
	if err != nil || c.ID == victim.ID || !c.Running {
		t.Fatalf("%s after recovery: %+v %v", name, c, err)
	}
	if _, err := rt.Container(t.Context(), victim.ID); !errors.Is(err, docker.ErrNotFound) {
		t.Errorf("quarantined container still there: %v", err)
	}
	for _, gone := range []string{img.id, "quell-evidence:" + o.IncidentID} {
		if _, err := rt.ImageInspect(t.Context(), gone); !errors.Is(err, docker.ErrNotFound) {
			t.Errorf("image %s still on the daemon: %v", gone, err)
		}
	}
	ev := filepath.Join(s.cfg.DataDir, "evidence", o.IncidentID, "container", "committed-image.tar")
	if st, err := os.Stat(ev); err != nil || st.Size() == 0 {
		t.Errorf("committed image not kept in the evidence: %v", err)
	}
	if got := dockertest.Exec(t, rt, c.ID, "/bin/busybox", "cat", "/version"); got != "1 (clean)\n" {
		t.Errorf("replacement serves %q", got)
	}
}

func shortID(id string) string {
	return strings.TrimPrefix(id, "sha256:")[:12]
}
