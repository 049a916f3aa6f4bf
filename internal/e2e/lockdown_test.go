package e2e

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/quell-ir/quell/internal/docker/dockertest"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/workflows"
)

// banner is what quell dev's ready banner says.
type banner struct {
	api, temporal, namespace, ui string
}

var (
	bannerAPI      = regexp.MustCompile(`api:\s+(\S+)`)
	bannerTemporal = regexp.MustCompile(`temporal:\s+(\S+) \(namespace (\S+)\)`)
	bannerUI       = regexp.MustCompile(`ui:\s+(\S+)`)
)

// startDevBanner starts quell dev with cfgFile and returns its banner.
func startDevBanner(t *testing.T, bin, dataDir, cfgFile string) banner {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command(bin, "dev", "--listen", freeAddr(t), "--temporal-port", "0", "--ui-port", "0",
		"--data-dir", dataDir, "--config", cfgFile)
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var out strings.Builder
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("quell dev exited:\n%s\n%s", out.String(), stderr.String())
			}
			out.WriteString(line + "\n")
			if !strings.HasPrefix(strings.TrimSpace(line), "playbooks:") {
				continue
			}
			go func() {
				for range lines {
				}
			}()
			s := out.String()
			api, tmp, ui := bannerAPI.FindStringSubmatch(s), bannerTemporal.FindStringSubmatch(s), bannerUI.FindStringSubmatch(s)
			if api == nil || tmp == nil || ui == nil {
				t.Fatalf("banner lacks api, temporal or ui:\n%s", s)
			}
			return banner{api: api[1], temporal: tmp[1], namespace: tmp[2], ui: ui[1]}
		case <-deadline:
			t.Fatalf("quell dev not ready after 60s:\n%s\n%s", out.String(), stderr.String())
		}
	}
}

// TestNoWayAroundTheAPI runs quell dev as a user would and, while an
// incident waits for its approval, tries what another local process
// could: the Temporal gRPC port without quell's key, and the Web UI's
// HTTP API without its login and with it. Nothing terminates, signals or
// updates the incident; quell's own API then decides it as usual.
func TestNoWayAroundTheAPI(t *testing.T) {
	bin := quellBinary(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "quell.yaml")
	if err := os.WriteFile(cfgFile, []byte("approvals: {approvers: [carol]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dev := startDevBanner(t, bin, filepath.Join(dir, "data"), cfgFile)
	if !strings.Contains(dev.ui, "/?token=") {
		t.Fatalf("ui line = %q, want the login URL", dev.ui)
	}
	s := &stack{t: t, url: dev.api}
	ctr := victim(t, dockertest.Client(t), "e2e-lockdown-"+randomSuffix())
	var o opened
	if code := s.do("POST", "/v1/alerts/falco", "", falcoAlert(t, ctr.ID), &o); code != http.StatusAccepted {
		t.Fatalf("alert: %d", code)
	}
	id := o.IncidentID
	before := s.incident(id, time.Minute, contained)
	wfID, runID := id[:strings.LastIndex(id, ".")], id[strings.LastIndex(id, ".")+1:]

	attackGRPC(t, dev, wfID, runID)
	attackUI(t, dev, wfID)

	after := s.incident(id, 10*time.Second, hasStatus(incident.StatusAwaitingApproval))
	if after.AlertsCount != before.AlertsCount || len(after.Decisions) != 0 {
		t.Errorf("incident after the attempts: %d alerts, decisions %+v; want %d and none", after.AlertsCount, after.Decisions, before.AlertsCount)
	}
	decision, _ := json.Marshal(incident.DecisionRequest{Step: "approve-recovery", Decision: "reject", Approver: "carol", Comment: "keep it"})
	if code := s.do("POST", "/v1/incidents/"+id+"/decisions", "", decision, nil); code != http.StatusOK {
		t.Fatalf("reject through quell's API: %d", code)
	}
	done := s.incident(id, time.Minute, hasStatus(incident.StatusCompleted))
	if len(done.Decisions) != 1 || done.Decisions[0].Approver != "carol" {
		t.Errorf("decisions = %+v, want carol's only", done.Decisions)
	}
}

// attackGRPC calls the embedded frontend with no key and a made-up one.
func attackGRPC(t *testing.T, dev banner, wfID, runID string) {
	t.Helper()
	alice, _ := json.Marshal(incident.DecisionRequest{Step: "approve-recovery", Decision: "approve", Approver: "alice"})
	for _, creds := range []client.Credentials{nil, client.NewAPIKeyStaticCredentials(strings.Repeat("ab", 32))} {
		c, err := client.Dial(client.Options{
			HostPort: dev.temporal, Namespace: dev.namespace, Credentials: creds,
			ConnectionOptions: client.ConnectionOptions{TLSDisabled: true},
		})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		ctx := t.Context()
		_, upErr := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: wfID, RunID: runID, UpdateName: workflows.UpdateDecide,
			Args: []any{json.RawMessage(alice)}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		_, listErr := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: dev.namespace})
		_, descErr := c.DescribeWorkflowExecution(ctx, wfID, runID)
		_, qErr := c.QueryWorkflow(ctx, wfID, runID, workflows.QueryStatus)
		_, startErr := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "intruder", TaskQueue: workflows.TaskQueue}, workflows.IncidentWorkflow)
		for name, err := range map[string]error{
			"terminate": c.TerminateWorkflow(ctx, wfID, runID, "intruder"),
			"cancel":    c.CancelWorkflow(ctx, wfID, runID),
			"signal":    c.SignalWorkflow(ctx, wfID, runID, workflows.SignalAlerts, nil),
			"update":    upErr, "list": listErr, "describe": descErr, "query": qErr, "start": startErr,
		} {
			var denied *serviceerror.PermissionDenied
			if !errors.As(err, &denied) {
				t.Errorf("gRPC with credentials %v: %s = %v, want PermissionDenied", creds != nil, name, err)
			}
		}
		c.Close()
	}
}

// attackUI calls the Web UI's HTTP API as a stranger and as a logged-in
// browser of the read-only UI.
func attackUI(t *testing.T, dev banner, wfID string) {
	t.Helper()
	base := dev.ui[:strings.Index(dev.ui, "/?token=")]
	wf := base + "/api/v1/namespaces/" + dev.namespace + "/workflows/" + wfID
	payload := base64.StdEncoding.EncodeToString([]byte(`{"step":"approve-recovery","decision":"approve","approver":"alice"}`))
	jsonPayloads := fmt.Sprintf(`{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":%q}]}`, payload)
	writes := map[string][2]string{
		"terminate": {wf + "/terminate", `{"reason":"intruder"}`},
		"signal":    {wf + "/signal/" + workflows.SignalAlerts, `{"input":` + jsonPayloads + `}`},
		"update": {wf + "/update/" + workflows.UpdateDecide,
			`{"request":{"meta":{"updateId":"intruder"},"input":{"name":"decide","args":` + jsonPayloads + `}}}`},
	}

	stranger := &http.Client{Timeout: 10 * time.Second}
	for _, url := range []string{base + "/", wf, base + "/api/v1/namespaces"} {
		resp, err := stranger.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
			t.Errorf("GET %s without login = %d, cookies %v; want 401 and none", url, resp.StatusCode, resp.Cookies())
		}
	}
	for name, w := range writes {
		if code, body := post(t, stranger, w[0], w[1], "x"); code != http.StatusUnauthorized {
			t.Errorf("UI %s without login = %d %.200s, want 401", name, code, body)
		}
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Timeout: 10 * time.Second, Jar: jar}
	resp, err := browser.Get(dev.ui)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var csrf string
	for _, c := range jar.Cookies(resp.Request.URL) {
		if c.Name == "_csrf" {
			csrf = c.Value
		}
	}
	if resp.StatusCode != http.StatusOK || csrf == "" {
		t.Fatalf("login: %d, csrf %q; want the UI", resp.StatusCode, csrf)
	}
	resp, err = browser.Get(wf)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), wfID) {
		t.Errorf("UI describe after login = %d %.200s, want the incident's workflow", resp.StatusCode, b)
	}
	for name, w := range writes {
		if code, body := post(t, browser, w[0], w[1], csrf); code != http.StatusForbidden {
			t.Errorf("UI %s after login = %d %.200s, want 403", name, code, body)
		}
	}
}

func post(t *testing.T, c *http.Client, url, body, csrf string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
