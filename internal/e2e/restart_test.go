package e2e

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/incident"
)

// quellBinary builds cmd/quell once for the test.
func quellBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "quell")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/quell")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build quell: %v\n%s", err, out)
	}
	return bin
}

// devProcess is a `quell dev` process.
type devProcess struct {
	cmd *exec.Cmd
	url string
	out *bytes.Buffer
}

// startDev starts quell dev on dataDir and waits until it says it is ready.
func startDev(t *testing.T, bin, dataDir string) *devProcess {
	t.Helper()
	addr := freeAddr(t)
	var out bytes.Buffer
	cmd := exec.Command(bin, "dev", "--listen", addr, "--temporal-port", "0", "--ui-port", "0", "--data-dir", dataDir)
	cmd.Stderr = &out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProcess{cmd: cmd, url: "http://" + addr, out: &out}
	t.Cleanup(func() { p.kill() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ready in") {
				ready <- true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("quell dev not ready after 60s:\n%s", out.String())
	}
	return p
}

func (p *devProcess) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestDevKilledDuringSnapshotFinishes kills quell dev with SIGKILL while it
// exports a container's filesystem, starts it again on the same data dir,
// and expects the incident to finish with a complete, verifying manifest.
func TestDevKilledDuringSnapshotFinishes(t *testing.T) {
	rt := dockertest.Client(t)
	bin := quellBinary(t)
	dataDir := t.TempDir()
	ctr := victim(t, rt, "e2e-crash-"+randomSuffix())
	// A filesystem big enough that the export takes a while.
	dockertest.Exec(t, rt, ctr.ID, "/bin/busybox", "dd", "if=/dev/urandom", "of=/loot.bin", "bs=1M", "count=384")

	dev := startDev(t, bin, dataDir)
	s := &stack{t: t, url: dev.url}
	var o opened
	if code := s.do("POST", "/v1/alerts/falco", "", falcoAlert(t, ctr.ID), &o); code != http.StatusAccepted {
		t.Fatalf("alert: %d\n%s", code, dev.out)
	}
	dockertest.RemoveImage(t, rt, "quell-evidence:"+o.IncidentID)
	partial := filepath.Join(dataDir, "evidence", o.IncidentID, "container", ".filesystem.tar.partial")
	if !waitFile(partial, 60*time.Second) {
		t.Fatalf("no export under way at %s", partial)
	}
	dev.kill()
	if _, err := os.Stat(filepath.Join(dataDir, "evidence", o.IncidentID, evidence.ManifestName)); err == nil {
		t.Fatal("the manifest was sealed before the kill: the test did not kill mid-export")
	}

	dev = startDev(t, bin, dataDir)
	inc := waitIncident(t, dev.url, o.IncidentID, 3*time.Minute, contained)
	for _, st := range inc.Steps[:4] {
		if st.Status != incident.StepSucceeded {
			t.Errorf("step %+v", st)
		}
	}
	store := evidence.NewStore(filepath.Join(dataDir, "evidence"))
	v, err := store.Verify(t.Context(), o.IncidentID, evidence.Actor{Who: "e2e"}, nil)
	if err != nil || !v.OK() {
		t.Fatalf("verify after restart: %+v %v", v, err)
	}
	m, err := store.Manifest(o.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range m.Artifacts {
		if a.Name == "container/filesystem.tar" && a.Size < 384<<20 {
			t.Errorf("export is %d bytes, want the whole filesystem", a.Size)
		}
	}
	if len(m.Artifacts) < 5 {
		t.Errorf("manifest has %d artifacts: %+v", len(m.Artifacts), m.Artifacts)
	}
}

func waitFile(path string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
