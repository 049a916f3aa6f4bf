// Package registrytest gives tests a real container registry on loopback:
// the distribution project's registry (github.com/distribution/distribution/v3),
// built once into a cache outside the repository so that quell's go.mod
// does not carry its dependencies, serving plain HTTP on 127.0.0.1 with its
// storage in the test's temporary directory. The Docker daemon pushes to it
// without TLS: loopback registries are trusted by default.
//
// When the registry cannot be built or started the test is skipped, unless
// CI=true, where it fails.
package registrytest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/toolcache"
)

// Version is the distribution release the tests run.
const Version = "v3.1.2"

// Options configure a registry.
type Options struct {
	// RefuseDeletes turns deletes off, as many registries have them by
	// default: a DELETE of a manifest answers 405 UNSUPPORTED.
	RefuseDeletes bool
}

// Registry is a running registry.
type Registry struct {
	// Host is 127.0.0.1:<port>, as image references name it.
	Host string
	cmd  *exec.Cmd
	log  *toolcache.LogBuffer
	// marks numbers the requests settle makes.
	marks atomic.Int64
}

// Start builds the registry binary if the cache lacks it, starts one on a
// free loopback port, waits until it answers and stops it when the test
// ends.
func Start(t testing.TB, o Options) *Registry {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	for attempt := 0; ; attempt++ {
		r, err := start(bin, dir, o)
		if err == nil {
			t.Cleanup(r.stop)
			return r
		}
		if attempt == 2 {
			toolcache.Unavailable(t, "start registry %s: %v", Version, err)
		}
	}
}

func start(bin, dir string, o Options) (*Registry, error) {
	port, err := toolcache.FreePort()
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := filepath.Join(dir, "config.yml")
	body := fmt.Sprintf(`version: 0.1
log:
  level: info
  formatter: text
  fields: {service: registry}
storage:
  filesystem: {rootdirectory: %s}
  delete: {enabled: %t}
  maintenance:
    uploadpurging: {enabled: false}
http:
  addr: %s
`, filepath.Join(dir, "storage"), !o.RefuseDeletes, host)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return nil, err
	}
	r := &Registry{Host: host, log: &toolcache.LogBuffer{}}
	r.cmd = exec.Command(bin, "serve", cfg)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	// A test binary that dies (a panic, a timeout) takes the registry with it.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none")
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.stop()
	return nil, fmt.Errorf("registry on %s did not answer within 15s:\n%s", host, r.log.String())
}

func (r *Registry) stop() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = r.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = r.cmd.Process.Kill()
			<-done
		}
	}
}

// Log returns what the registry has logged so far.
func (r *Registry) Log() string { return r.log.String() }

// accessLine matches the registry's access log: the request line in an
// Apache combined log entry.
var accessLine = regexp.MustCompile(`"([A-Z]+) (/v2/[^ ?"]*)[^"]* HTTP/[0-9.]+" ([0-9]{3}) `)

// Requests counts the requests in the registry's own access log with the
// method whose path matches pathRE and whose status is 2xx, once every
// request answered before the call is in the log.
func (r *Registry) Requests(method, pathRE string) int {
	r.settle()
	re := regexp.MustCompile(pathRE)
	n := 0
	sc := bufio.NewScanner(strings.NewReader(r.Log()))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		m := accessLine.FindStringSubmatch(sc.Text())
		if m != nil && m[1] == method && re.MatchString(m[2]) && m[3][0] == '2' {
			n++
		}
	}
	return n
}

// settle waits until the log holds every request the registry answered
// before the call. The registry writes a request's access line before its
// answer leaves, but into a pipe that a goroutine of os/exec copies into
// the log, so a client can see the answer before the log has the line.
// settle makes a request of its own and waits, up to 5s, for its line: the
// pipe keeps order, so the lines written before it are in the log too.
func (r *Registry) settle() {
	mark := fmt.Sprintf("quell-settle=%d", r.marks.Add(1))
	resp, err := http.Get("http://" + r.Host + "/v2/?" + mark)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(r.Log(), mark+" ") {
			return
		}
	}
}

// ManifestPuts counts the successful manifest uploads to repository (path
// without the host) in the registry's log: one per tag pushed.
func (r *Registry) ManifestPuts(repository string) int {
	return r.Requests("PUT", "^/v2/"+regexp.QuoteMeta(repository)+"/manifests/")
}

// ManifestDeletes counts the successful manifest deletes in repository.
func (r *Registry) ManifestDeletes(repository string) int {
	return r.Requests("DELETE", "^/v2/"+regexp.QuoteMeta(repository)+"/manifests/")
}

// Binary returns the registry binary, built once into the user's cache by
// version (toolcache), from the Go module proxy.
func Binary(t testing.TB) string {
	t.Helper()
	return toolcache.Binary(t, toolcache.Tool{
		Module: "github.com/distribution/distribution/v3", Package: "cmd/registry", Version: Version, Name: "registry",
	})
}
