package activities_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/evidence/evidencetest"
)

// victim is a running container on two internal networks, with a file an
// "attacker" wrote, and output on both streams.
type victim struct {
	c   *docker.Client
	ctr docker.Container
	net []string
}

func newVictim(t *testing.T) victim {
	t.Helper()
	c := dockertest.Client(t)
	img := dockertest.Image(t, c)
	nets := []string{dockertest.Network(t, c), dockertest.Network(t, c)}
	ctr := dockertest.Run(t, c, img, dockertest.RunOptions{
		Networks: nets, Aliases: []string{"web"},
		Cmd: []string{"/bin/busybox", "sh", "-c", "echo started; echo warning >&2; exec /bin/busybox sleep 86400"},
	})
	dockertest.Exec(t, c, ctr.ID, "/bin/busybox", "sh", "-c", "echo owned > /pwned.txt")
	return victim{c: c, ctr: ctr, net: nets}
}

func (v victim) target() alert.Target {
	return alert.Target{Kind: alert.KindDocker, ContainerID: v.ctr.ID[:12], ContainerName: v.ctr.Name}
}

func activityEnv(t *testing.T, acts any) *testsuite.TestActivityEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return env
}

func TestIsolateContainerAndUndo(t *testing.T) {
	v := newVictim(t)
	d := &activities.Docker{Runtime: v.c}
	env := activityEnv(t, d)
	in := activities.IsolateInput{IncidentID: "inc-1", Target: v.target()}

	var first, second activities.IsolateResult
	val, err := env.ExecuteActivity(d.IsolateContainer, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := val.Get(&first); err != nil {
		t.Fatal(err)
	}
	if got := len(first.Isolation.Networks); got != 2 {
		t.Fatalf("recorded %d networks, want 2: %+v", got, first.Isolation)
	}
	after, err := v.c.Container(t.Context(), v.ctr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Paused {
		t.Error("container not paused after isolation")
	}
	if atts, _ := v.c.Attachments(t.Context(), v.ctr.ID); len(atts) != 0 {
		t.Errorf("container still attached to %+v", atts)
	}
	if first.Target.ContainerID != v.ctr.ID || first.Target.ImageID == "" {
		t.Errorf("target not completed from Docker: %+v", first.Target)
	}

	// Again: harmless.
	val, err = env.ExecuteActivity(d.IsolateContainer, in)
	if err != nil {
		t.Fatalf("second isolation: %v", err)
	}
	_ = val.Get(&second)
	if !second.Isolation.Paused {
		t.Errorf("second isolation: %+v", second.Isolation)
	}

	// Undo with the first record restores both networks and the alias.
	if _, err := env.ExecuteActivity(d.UndoIsolation, activities.UndoIsolationInput{IncidentID: "inc-1", Isolation: first.Isolation}); err != nil {
		t.Fatal(err)
	}
	restored, _ := v.c.Container(t.Context(), v.ctr.ID)
	if restored.Paused || !restored.Running {
		t.Errorf("after undo: paused %t running %t", restored.Paused, restored.Running)
	}
	atts, _ := v.c.Attachments(t.Context(), v.ctr.ID)
	if len(atts) != 2 {
		t.Fatalf("after undo attached to %+v, want both networks", atts)
	}
	for _, a := range atts {
		if !contains(a.Aliases, "web") {
			t.Errorf("network %s lost alias web: %v", a.Network, a.Aliases)
		}
	}
}

func TestIsolateRefusesWrongOrMissingContainer(t *testing.T) {
	v := newVictim(t)
	d := &activities.Docker{Runtime: v.c}
	env := activityEnv(t, d)
	cases := []struct {
		name   string
		target alert.Target
		want   string
	}{
		{"other name", alert.Target{Kind: alert.KindDocker, ContainerID: v.ctr.ID[:12], ContainerName: "someone-else"}, activities.ErrTypeTargetMismatch},
		{"missing", alert.Target{Kind: alert.KindDocker, ContainerID: "0123456789ab"}, activities.ErrTypeNotFound},
		{"no id", alert.Target{Kind: alert.KindDocker}, activities.ErrTypeBadInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := env.ExecuteActivity(d.IsolateContainer, activities.IsolateInput{IncidentID: "inc-2", Target: tc.target})
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || app.Type() != tc.want || !app.NonRetryable() {
				t.Fatalf("err = %v, want non-retryable %s", err, tc.want)
			}
		})
	}
	if c, _ := v.c.Container(t.Context(), v.ctr.ID); c.Paused {
		t.Error("a refused isolation paused the container")
	}
}

func TestSnapshotAndVerify(t *testing.T) {
	v := newVictim(t)
	dir := t.TempDir()
	store := evidence.NewStore(dir)
	key, err := evidence.LoadOrCreateKey(filepath.Join(t.TempDir(), evidence.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	store.SetSigner(key)
	// The authority is down when the snapshot seals, and back by the verify.
	tsa := evidencetest.NewAuthority(t)
	tsa.Down = true
	store.SetTimestamper(tsa, tsa.Chain)
	e := &activities.Evidence{Runtime: v.c, Store: store, Actor: evidence.Actor{Who: "test", Host: "h", Version: "v"}}
	dockertest.RemoveImage(t, v.c, "quell-evidence:inc-3")
	env := activityEnv(t, e)
	in := activities.SnapshotInput{IncidentID: "inc-3", Target: v.target(), Logs: true, Processes: true, Export: true, Commit: true}
	if err := v.c.Pause(t.Context(), v.ctr.ID); err != nil {
		t.Fatal(err)
	}
	val, err := env.ExecuteActivity(e.SnapshotContainer, in)
	if err != nil {
		t.Fatal(err)
	}
	var res activities.SnapshotResult
	_ = val.Get(&res)
	names := map[string]bool{}
	for _, a := range res.Evidence.Artifacts {
		names[a.Name] = true
	}
	for _, want := range []string{"container/inspect.json", "container/stdout.log", "container/stderr.log", "container/changes.json", "container/filesystem.tar"} {
		if !names[want] {
			t.Errorf("artifact %s missing from %v", want, names)
		}
	}
	if res.Evidence.ManifestSHA256 == "" || res.Evidence.ImageID == "" {
		t.Errorf("evidence = %+v, want manifest hash and committed image", res.Evidence)
	}
	if res.Evidence.SignedBy != evidence.KeyID(store.PublicKey()) || res.Evidence.TimestampedAt != nil ||
		!strings.Contains(res.Evidence.TimestampMissing, "connection refused") {
		t.Errorf("signed by %q, timestamped %v, missing %q; want the key, no timestamp and why",
			res.Evidence.SignedBy, res.Evidence.TimestampedAt, res.Evidence.TimestampMissing)
	}
	evDir := filepath.Join(dir, "inc-3")
	if got := dockertest.TarEntry(t, filepath.Join(evDir, "container/filesystem.tar"), "pwned.txt"); got != "owned\n" {
		t.Errorf("pwned.txt in export = %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(evDir, "container/stderr.log")); !strings.Contains(string(b), "warning") {
		t.Errorf("stderr.log = %q", b)
	}

	// Running it again returns the sealed manifest.
	val, err = env.ExecuteActivity(e.SnapshotContainer, in)
	if err != nil {
		t.Fatalf("second snapshot: %v", err)
	}
	var again activities.SnapshotResult
	_ = val.Get(&again)
	if again.Evidence.ManifestSHA256 != res.Evidence.ManifestSHA256 {
		t.Errorf("second snapshot manifest %s, want %s", again.Evidence.ManifestSHA256, res.Evidence.ManifestSHA256)
	}

	tsa.Down = false
	val, err = env.ExecuteActivity(e.VerifyEvidence, activities.VerifyInput{IncidentID: "inc-3"})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var verified activities.VerifyResult
	_ = val.Get(&verified)
	if verified.Timestamped == nil || verified.TimestampMissing != "" {
		t.Errorf("verify with the authority back: timestamped %v, missing %q", verified.Timestamped, verified.TimestampMissing)
	}
	tamper(t, filepath.Join(evDir, "container/inspect.json"))
	_, err = env.ExecuteActivity(e.VerifyEvidence, activities.VerifyInput{IncidentID: "inc-3"})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeEvidenceMismatch {
		t.Fatalf("verify after tampering: err = %v, want %s", err, activities.ErrTypeEvidenceMismatch)
	}
	if !strings.Contains(app.Message(), "container/inspect.json: sha256 mismatch") {
		t.Errorf("message = %q", app.Message())
	}
}

func tamper(t *testing.T, path string) {
	t.Helper()
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	b[0] ^= 0xff
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
