package registry_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/registry"
	"github.com/quell-ir/quell/internal/registry/registrytest"
)

func TestNewRefusesBadHosts(t *testing.T) {
	_, err := registry.New([]registry.Host{{Name: "r.example:5000"}, {Name: "https://r.example"}, {Name: "r.example:5000"}, {Name: "r.example/team"}})
	want := "registry \"https://r.example\": want host[:port]\nregistry r.example:5000: listed twice\nregistry \"r.example/team\": want host[:port]"
	if err == nil || err.Error() != want {
		t.Fatalf("New = %v, want\n%s", err, want)
	}
}

func TestHostOf(t *testing.T) {
	c, err := registry.New([]registry.Host{{Name: "127.0.0.1:5000"}, {Name: "r.example"}})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"127.0.0.1:5000/team/app:1": "127.0.0.1:5000", "r.example/app@sha256:" + strings.Repeat("a", 64): "r.example",
		"r.example:5000/app:1": "", "app:1": "", "docker.io/library/app:1": "", "127.0.0.1:5000/../x": "",
	} {
		got, ok := c.HostOf(ref)
		if got != want || ok != (want != "") {
			t.Errorf("HostOf(%s) = %q, %t, want %q", ref, got, ok, want)
		}
	}
	if _, err := c.Resolve(t.Context(), "other.example/app:1"); !errors.Is(err, registry.ErrNotConfigured) {
		t.Errorf("Resolve in an unconfigured registry = %v, want ErrNotConfigured", err)
	}
}

// TestCredentialsStayOutOfErrors: a registry that refuses the configured
// password gets ErrDenied, and no error text holds the password.
func TestCredentialsStayOutOfErrors(t *testing.T) {
	const secret = "s3cret-registry-password"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); !ok || pw != "right" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	c, err := registry.New([]registry.Host{{Name: host, Username: "quell", Password: secret}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Resolve(t.Context(), host+"/app:1")
	if !errors.Is(err, registry.ErrDenied) {
		t.Fatalf("Resolve = %v, want ErrDenied", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error holds the password: %v", err)
	}
}

// pushed builds an image tagged <registry>/<repo>:1 and has the daemon
// push it; it returns the image ID and the manifest digest.
func pushed(t *testing.T, reg *registrytest.Registry, c *registry.Client, repo, dockerfile string) (string, string) {
	t.Helper()
	rt := dockertest.Client(t)
	ref := reg.Host + "/" + repo + ":1"
	id := dockertest.BuildFrom(t, rt, ref, dockerfile, map[string][]byte{"version": []byte(repo + "\n")})
	start := time.Now()
	digest, err := c.Push(t.Context(), ref, nil)
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	t.Logf("pushed %s in %s", ref, time.Since(start).Round(time.Millisecond))
	return id, digest
}

func TestPushResolveScanDelete(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	rt := dockertest.Client(t)
	c, err := registry.New([]registry.Host{{Name: reg.Host}}, registry.WithEngine(rt.API()))
	if err != nil {
		t.Fatal(err)
	}
	id, digest := pushed(t, reg, c, "quell-test/app", "FROM scratch\nCOPY busybox /bin/busybox\nCOPY version /version\n")
	if got, want := reg.ManifestPuts("quell-test/app"), 1; got != want {
		t.Errorf("manifest PUTs in the registry's log = %d, want %d", got, want)
	}
	m, err := c.Resolve(t.Context(), reg.Host+"/quell-test/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Digest != digest || m.Config != id || m.Repository != reg.Host+"/quell-test/app" {
		t.Errorf("Resolve = %+v, want digest %s, config %s", m, digest, id)
	}
	imgs, err := c.Image(t.Context(), m.Ref())
	if err != nil || len(imgs) != 1 || len(imgs[0].Layers) != 2 {
		t.Fatalf("Image(%s) = %+v, %v, want one image of 2 layers", m.Ref(), imgs, err)
	}
	scan, err := c.Scan(t.Context(), registry.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(scan.Images) != 1 || scan.Images[0].Digest != digest || strings.Join(scan.Images[0].Tags, ",") != "1" ||
		strings.Join(scan.Repositories, ",") != reg.Host+"/quell-test/app" {
		t.Errorf("Scan = %+v", scan)
	}
	if err := c.Delete(t.Context(), m.Ref()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve(t.Context(), m.Ref()); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Resolve after delete = %v, want ErrNotFound", err)
	}
	if _, err := c.Resolve(t.Context(), reg.Host+"/quell-test/app:1"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("tag after its manifest's delete = %v, want ErrNotFound", err)
	}
	if err := c.Delete(t.Context(), m.Ref()); err != nil {
		t.Errorf("second delete = %v, want nil (already gone)", err)
	}
	if got, want := reg.ManifestDeletes("quell-test/app"), 1; got != want {
		t.Errorf("manifest DELETEs in the registry's log = %d, want %d", got, want)
	}
}

func TestDeleteRefused(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{RefuseDeletes: true})
	rt := dockertest.Client(t)
	c, err := registry.New([]registry.Host{{Name: reg.Host}}, registry.WithEngine(rt.API()))
	if err != nil {
		t.Fatal(err)
	}
	_, digest := pushed(t, reg, c, "quell-test/kept", "FROM scratch\nCOPY version /version\n")
	ref := reg.Host + "/quell-test/kept@" + digest
	err = c.Delete(t.Context(), ref)
	if !errors.Is(err, registry.ErrDeleteRefused) {
		t.Fatalf("Delete = %v, want ErrDeleteRefused", err)
	}
	if got, want := err.Error(), "delete "+ref+": registry refuses deletes (405 UNSUPPORTED)"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if _, err := c.Resolve(t.Context(), ref); err != nil {
		t.Errorf("manifest after a refused delete: %v, want still there", err)
	}
}
