package activities_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/registry"
	"github.com/quell-ir/quell/internal/registry/registrytest"
)

func TestRegistryOwnLayers(t *testing.T) {
	img := func(repo string, layers ...string) registry.Image {
		return registry.Image{Manifest: registry.Manifest{Repository: "r/" + repo, Digest: "sha256:" + repo, Config: "sha256:c-" + repo},
			Tags: []string{"1"}, Layers: layers}
	}
	bad := img("app", "base", "poison", "app")
	declared := bad
	declared.Base = "r/base:1"
	for _, tc := range []struct {
		name    string
		bad     registry.Image
		scanned []registry.Image
		want    string
		k       int
	}{
		{"nothing else", bad, []registry.Image{bad}, "none found: every layer counted as its own", 0},
		{"only images built on it", bad, []registry.Image{bad, img("derived", "base", "poison", "app", "more")},
			"none found: every layer counted as its own", 0},
		{"its base", bad, []registry.Image{img("base", "base"), bad},
			"the 1 bottom layer(s) it shares with r/base:1, which is not built on it", 1},
		{"a sibling sharing more", bad, []registry.Image{img("base", "base"), img("sibling", "base", "poison", "other")},
			"the 2 bottom layer(s) it shares with r/sibling:1, which is not built on it", 2},
		{"declared base wins", declared, []registry.Image{img("base", "base"), img("sibling", "base", "poison", "other")},
			"r/base:1, declared as its base (1 layer(s))", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, k := activities.OwnLayers(tc.bad, tc.scanned)
			if got != tc.want || k != tc.k {
				t.Errorf("OwnLayers = %q, %d, want %q, %d", got, k, tc.want, tc.k)
			}
		})
	}
}

// registryLab is a loopback registry, a client of it, and the Docker host.
type registryLab struct {
	reg *registrytest.Registry
	rt  *docker.Client
	c   *registry.Client
}

func newRegistryLab(t *testing.T, o registrytest.Options) *registryLab {
	t.Helper()
	rt := dockertest.Client(t)
	reg := registrytest.Start(t, o)
	c, err := registry.New([]registry.Host{{Name: reg.Host}}, registry.WithEngine(rt.API()))
	if err != nil {
		t.Fatal(err)
	}
	return &registryLab{reg: reg, rt: rt, c: c}
}

func (l *registryLab) acts() *activities.Registries {
	return &activities.Registries{Client: l.c, Images: l.rt}
}

// push builds dockerfile as <registry>/quell-test/<repo>:1, with a file
// "content" holding content, and pushes it; it returns the image ID and the
// manifest digest.
func (l *registryLab) push(t *testing.T, repo, dockerfile, content string) (string, string) {
	t.Helper()
	ref := l.reg.Host + "/quell-test/" + repo + ":1"
	id := dockertest.BuildFrom(t, l.rt, ref, dockerfile, map[string][]byte{"content": []byte(content)})
	d, err := l.c.Push(t.Context(), ref, nil)
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return id, d
}

func TestRegistryPushIsIdempotentByDigest(t *testing.T) {
	l := newRegistryLab(t, registrytest.Options{})
	tag := l.reg.Host + "/quell-test/app:1"
	badID, badDigest := l.push(t, "app", "FROM scratch\nCOPY content /version\n", "poisoned")
	cleanID := dockertest.BuildFrom(t, l.rt, tag, "FROM scratch\nCOPY content /version\n", map[string][]byte{"content": []byte("clean")})
	acts := l.acts()
	env := activityEnv(t, acts)
	in := activities.PushInput{IncidentID: "inc-push", ImageID: cleanID, Tags: []string{tag, "example/elsewhere:1"}, OldImageID: badID}

	var first, again activities.PushResult
	val, err := env.ExecuteActivity(acts.PushImage, in)
	if err != nil {
		t.Fatal(err)
	}
	_ = val.Get(&first)
	if len(first.Pushed) != 1 || first.Pushed[0].Previous != badDigest || first.Pushed[0].AlreadyThere ||
		first.Pushed[0].Ref != l.reg.Host+"/quell-test/app@"+first.Pushed[0].Digest {
		t.Fatalf("push = %+v", first)
	}
	if got, want := strings.Join(first.Superseded, " "), l.reg.Host+"/quell-test/app@"+badDigest; got != want {
		t.Errorf("superseded = %s, want %s", got, want)
	}
	if got, want := strings.Join(first.Skipped, " "), "example/elsewhere:1"; got != want {
		t.Errorf("skipped = %s, want %s", got, want)
	}
	val, err = env.ExecuteActivity(acts.PushImage, in)
	if err != nil {
		t.Fatal(err)
	}
	_ = val.Get(&again)
	if len(again.Pushed) != 1 || !again.Pushed[0].AlreadyThere || again.Pushed[0].Digest != first.Pushed[0].Digest {
		t.Errorf("second push = %+v, want the same digest, already there", again)
	}
	if got, want := l.reg.ManifestPuts("quell-test/app"), 2; got != want {
		t.Errorf("manifest PUTs in the registry's log = %d, want %d (the bad image's, then the clean one's once)", got, want)
	}
	if m, err := l.c.Resolve(t.Context(), tag); err != nil || m.Config != cleanID {
		t.Errorf("tag %s = %+v, %v, want the clean image", tag, m, err)
	}

	// A tag that names another image on the daemon is not pushed.
	in.ImageID = badID
	_, err = env.ExecuteActivity(acts.PushImage, in)
	var app *temporal.ApplicationError
	want := fmt.Sprintf("tag %s names image %s on the daemon, not the clean image %s: not pushing it", tag, cleanID, badID)
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeRefused || app.Message() != want {
		t.Errorf("push of a moved tag = %v, want %s", err, want)
	}
}

func TestRegistryBlastRadiusAndDelete(t *testing.T) {
	l := newRegistryLab(t, registrytest.Options{})
	h := l.reg.Host + "/quell-test/"
	l.push(t, "base", "FROM scratch\nCOPY busybox /bin/busybox\n", "")
	badID, badDigest := l.push(t, "app", "FROM "+h+"base:1\nCOPY content /version\n", "poisoned")
	l.push(t, "derived-a", "FROM "+h+"app:1\nCOPY content /a\n", "a")
	l.push(t, "derived-b", "FROM "+h+"app:1\nCOPY content /b\n", "b")
	l.push(t, "other", "FROM "+h+"base:1\nCOPY content /other\n", "other")
	acts := l.acts()
	env := activityEnv(t, acts)

	val, err := env.ExecuteActivity(acts.BlastRadius, activities.BlastRadiusInput{IncidentID: "inc-br", ImageID: badID})
	if err != nil {
		t.Fatal(err)
	}
	var br activities.BlastRadiusResult
	_ = val.Get(&br)
	if br.Radius == nil {
		t.Fatalf("blast radius = %+v", br)
	}
	var affected []string
	for _, a := range br.Radius.Affected {
		affected = append(affected, fmt.Sprintf("%s:%s built_on=%t shared=%d", strings.TrimPrefix(a.Repository, h), strings.Join(a.Tags, ","), a.BuiltOn, a.Shared))
	}
	if got, want := strings.Join(affected, " "), "derived-a:1 built_on=true shared=1 derived-b:1 built_on=true shared=1"; got != want {
		t.Errorf("affected = %s, want %s (base: %s)", got, want, br.Radius.Base)
	}
	if len(br.Radius.OwnLayers) != 1 || br.Radius.Scanned != 5 {
		t.Errorf("own layers %v of %d scanned, want 1 of 5 (base: %s)", br.Radius.OwnLayers, br.Radius.Scanned, br.Radius.Base)
	}

	in := activities.RegistryDeleteInput{IncidentID: "inc-del", ImageID: badID}
	val, err = env.ExecuteActivity(acts.DeleteFromRegistries, in)
	if err != nil {
		t.Fatal(err)
	}
	var del activities.RegistryDeleteResult
	_ = val.Get(&del)
	if len(del.Deleted) != 1 || del.Deleted[0].Digest != badDigest || strings.Join(del.Deleted[0].Tags, ",") != "1" || del.Deleted[0].AlreadyGone {
		t.Fatalf("delete = %+v", del)
	}
	if _, err := l.c.Resolve(t.Context(), h+"app@"+badDigest); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("bad manifest after delete: %v, want not found", err)
	}
	in.Known = []string{h + "app@" + badDigest}
	if _, err := env.ExecuteActivity(acts.DeleteFromRegistries, in); err != nil {
		t.Fatal(err)
	}
	if got, want := l.reg.ManifestDeletes("quell-test/app"), 1; got != want {
		t.Errorf("manifest DELETEs in the registry's log = %d, want %d", got, want)
	}
	if m, err := l.c.Resolve(t.Context(), h+"derived-a:1"); err != nil || m.Config == badID {
		t.Errorf("derived-a after the delete: %+v, %v: want it untouched", m, err)
	}
}

func TestRegistryRefusingDeletes(t *testing.T) {
	l := newRegistryLab(t, registrytest.Options{RefuseDeletes: true})
	badID, badDigest := l.push(t, "kept", "FROM scratch\nCOPY content /version\n", "poisoned")
	acts := l.acts()
	env := activityEnv(t, acts)
	_, err := env.ExecuteActivity(acts.DeleteFromRegistries, activities.RegistryDeleteInput{IncidentID: "inc-r", ImageID: badID})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeDeleteRefused || app.NonRetryable() != true {
		t.Fatalf("delete on a refusing registry = %v, want a non-retryable %s", err, activities.ErrTypeDeleteRefused)
	}
	ref := l.reg.Host + "/quell-test/kept@" + badDigest
	if got, want := app.Message(), "registry refuses deletes: image "+badID+" survives in "+ref+" (405 UNSUPPORTED)"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	var res activities.RegistryDeleteResult
	if err := app.Details(&res); err != nil || len(res.Refused) != 1 || res.Refused[0].Reason != "405 UNSUPPORTED" {
		t.Errorf("details = %+v, %v", res, err)
	}
}

func TestRegistryActivitiesWithoutRegistry(t *testing.T) {
	acts := &activities.Registries{}
	env := activityEnv(t, acts)
	for name, run := range map[string]func() (any, error){
		"push": func() (any, error) { return env.ExecuteActivity(acts.PushImage, activities.PushInput{}) },
		"delete": func() (any, error) {
			return env.ExecuteActivity(acts.DeleteFromRegistries, activities.RegistryDeleteInput{})
		},
		"blast": func() (any, error) { return env.ExecuteActivity(acts.BlastRadius, activities.BlastRadiusInput{}) },
	} {
		v, err := run()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var res struct{ Note string }
		if err := v.(interface{ Get(any) error }).Get(&res); err != nil || res.Note != activities.NoRegistry {
			t.Errorf("%s: note %q, %v, want %q", name, res.Note, err, activities.NoRegistry)
		}
	}
}
