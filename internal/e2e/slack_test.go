package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/slack/slacktesting"
)

const slackPlaybook = `name: slack-gated
match: {source: falco, target: docker, required_fields: [target.container_id]}
steps:
  - {id: contain, kind: docker:isolate}
  - {id: preserve, kind: evidence:snapshot, with: {export: false, commit: false}}
  - {id: verify, kind: evidence:verify}
  - {id: approve, kind: approval, timeout: 1h, with: {required: 2}}
  - {id: announce, kind: slack:notify, with: {text: "incident {incident} on {container}: approved, carrying on"}}
  - {id: report, kind: report:write}
`

func slackStack(t *testing.T, fake *slacktesting.Server, apiURL string) *stack {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "slack.yaml"), []byte(slackPlaybook), 0o600); err != nil {
		t.Fatal(err)
	}
	return startStack(t, dir, func(c *config.Config) {
		c.Approvals.Approvers = []string{"U01ALICE", "U03CAROL"}
		sc := fake.Config()
		c.Slack = config.Slack{BotToken: sc.BotToken, SigningSecret: sc.SigningSecret, Channel: sc.Channel, APIURL: apiURL}
	})
}

// click is a block_actions delivery as Slack posts it: Slack's own sample
// payload (slackapi/java-slack-sdk, MIT, from ../shared/samples) with our
// button, incident and step, the user and a trigger ID.
func click(t *testing.T, incidentID, step, action, user, trigger string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../../shared/samples/java-slack-sdk_bolt-ktor-KtorAppActionTest_block_actions_button.json")
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	_ = json.Unmarshal(b, &p)
	value, _ := json.Marshal(map[string]string{"incident_id": incidentID, "step": step})
	a := p["actions"].([]any)[0].(map[string]any)
	a["action_id"], a["value"] = action, string(value)
	p["user"].(map[string]any)["id"] = user
	p["trigger_id"] = trigger
	p["channel"] = map[string]any{"id": slacktesting.Channel}
	payload, _ := json.Marshal(p)
	return []byte("payload=" + url.QueryEscape(string(payload)))
}

func (s *stack) interact(body []byte, at time.Time, secret string) int {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/v1/slack/interactions", bytes.NewReader(body))
	req.Header = slacktesting.Sign(secret, body, at)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitCalls waits until the fake Slack has seen a call that ok accepts.
func waitCalls(t *testing.T, fake *slacktesting.Server, timeout time.Duration, what string, ok func(slacktesting.Call) bool) slacktesting.Call {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, c := range fake.Calls() {
			if ok(c) {
				return c
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("Slack never saw %s; calls: %v", what, slacktesting.Methods(fake.Calls()))
	return slacktesting.Call{}
}

func blocksContain(t *testing.T, method, text string) func(slacktesting.Call) bool {
	return func(c slacktesting.Call) bool {
		return c.Method == method && strings.Contains(shown(t, c), text)
	}
}

// shown is what a message call shows: its text and its blocks' texts.
func shown(t *testing.T, c slacktesting.Call) string {
	out := c.Form.Get("text")
	if b := c.Form.Get("blocks"); b != "" {
		out += "\n" + slacktesting.Texts(t, b)
	}
	return out
}

func TestSlackMessagesAndApprovals(t *testing.T) {
	fake := slacktesting.New(t)
	s := slackStack(t, fake, fake.Srv.GetAPIURL())
	ctr := victim(t, s.docker, "e2e-slack-"+randomSuffix())
	var o opened
	if code := s.do("POST", "/v1/alerts/falco", "", falcoAlert(t, ctr.ID), &o); code != http.StatusAccepted {
		t.Fatalf("alert: %d", code)
	}
	waitCalls(t, fake, 30*time.Second, "the incident message", blocksContain(t, "chat.postMessage", "Terminal shell in container"))
	waitCalls(t, fake, 30*time.Second, "the message updated as steps run", func(c slacktesting.Call) bool {
		return c.Method == "chat.update" && c.Form.Get("ts") == "1700000000.000001" &&
			strings.Contains(shown(t, c), ":white_check_mark: verify (evidence:verify)")
	})
	waitCalls(t, fake, 30*time.Second, "the approval buttons", func(c slacktesting.Call) bool {
		return c.Method == "chat.postMessage" && strings.Contains(c.Form.Get("blocks"), "quell_approve")
	})
	s.incident(o.IncidentID, 30*time.Second, hasStatus(incident.StatusAwaitingApproval))

	now := time.Now()
	if code := s.interact(click(t, o.IncidentID, "approve", "quell_approve", "U01ALICE", "t-1"), now, "wrong-secret"); code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d, want 401", code)
	}
	if code := s.interact(click(t, o.IncidentID, "approve", "quell_approve", "U01ALICE", "t-2"), now.Add(-6*time.Minute), slacktesting.SigningSecret); code != http.StatusUnauthorized {
		t.Errorf("stale timestamp: %d, want 401", code)
	}
	if code := s.interact(click(t, o.IncidentID, "approve", "quell_approve", "U02BOB", "t-3"), now, slacktesting.SigningSecret); code != http.StatusOK {
		t.Errorf("click by someone not allowed: %d", code)
	}
	refusal := waitCalls(t, fake, 30*time.Second, "an ephemeral refusal", func(c slacktesting.Call) bool { return c.Method == "chat.postEphemeral" })
	if refusal.Form.Get("user") != "U02BOB" || !strings.Contains(shown(t, refusal), "may not decide") {
		t.Errorf("refusal = %v", refusal.Form)
	}
	if inc := s.incident(o.IncidentID, time.Second, func(incident.Incident) bool { return true }); inc.Status != incident.StatusAwaitingApproval || len(inc.Decisions) != 0 {
		t.Fatalf("refused clicks changed the incident: %s %+v", inc.Status, inc.Decisions)
	}

	approve := click(t, o.IncidentID, "approve", "quell_approve", "U01ALICE", "t-4")
	if code := s.interact(approve, time.Now(), slacktesting.SigningSecret); code != http.StatusOK {
		t.Fatalf("approve: %d", code)
	}
	s.incident(o.IncidentID, 30*time.Second, func(inc incident.Incident) bool { return len(inc.Decisions) == 1 })
	// Slack retries the same delivery while the gate still waits for its
	// second approval: the retry is the same decision (the update ID), so
	// it is neither decided again nor refused as alice's second approval.
	ephemerals := func() int {
		n := 0
		for _, c := range fake.Calls() {
			if c.Method == "chat.postEphemeral" && c.Form.Get("user") == "U01ALICE" {
				n++
			}
		}
		return n
	}
	before := ephemerals()
	if code := s.interact(approve, time.Now(), slacktesting.SigningSecret); code != http.StatusOK {
		t.Errorf("replayed approve: %d", code)
	}
	carol := click(t, o.IncidentID, "approve", "quell_approve", "U03CAROL", "t-5")
	if code := s.interact(carol, time.Now(), slacktesting.SigningSecret); code != http.StatusOK {
		t.Fatalf("carol's approve: %d", code)
	}
	inc := s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusCompleted))
	waitCalls(t, fake, 30*time.Second, "the decision on the approval message", blocksContain(t, "chat.update", "Approved"))
	waitCalls(t, fake, 30*time.Second, "the slack:notify step", blocksContain(t, "chat.postMessage", "approved, carrying on"))
	if got := ephemerals(); got != before {
		t.Errorf("the replayed click was refused to alice (%d ephemeral messages, want %d): it was taken as a new decision", got, before)
	}
	if len(inc.Decisions) != 2 || inc.Decisions[0].Approver != "U01ALICE" || inc.Decisions[1].Approver != "U03CAROL" {
		t.Errorf("decisions = %+v, want alice's then carol's", inc.Decisions)
	}
	s.recordHistory(o.IncidentID, "slack-approved")
	for _, c := range fake.Calls() {
		for _, v := range c.Form {
			if slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, "DISTINCTIVE") && c.Form.Get("token") != s }) {
				t.Errorf("a token leaked into %s: %v", c.Method, c.Form)
			}
		}
	}
}

func TestSlackDownDoesNotDelayContainment(t *testing.T) {
	fake := slacktesting.New(t)
	slack, err := fake.Front() // down until told
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(slack.Down)
	s := slackStack(t, fake, slack.URL())
	ctr := victim(t, s.docker, "e2e-slackdown-"+randomSuffix())
	var o opened
	if code := s.do("POST", "/v1/alerts/falco", "", falcoAlert(t, ctr.ID), &o); code != http.StatusAccepted {
		t.Fatalf("alert: %d", code)
	}
	inc := s.incident(o.IncidentID, 30*time.Second, hasStatus(incident.StatusAwaitingApproval))
	if ttc := inc.TimeToContain(); ttc <= 0 || ttc > 5*time.Second {
		t.Errorf("time to contain with Slack down = %s", ttc)
	}
	if inc.Evidence == nil || !inc.Evidence.Verified {
		t.Errorf("evidence with Slack down: %+v", inc.Evidence)
	}
	if got, _ := s.docker.Container(t.Context(), ctr.ID); !got.Paused {
		t.Error("container not contained with Slack down")
	}
	if n := len(fake.Calls()); n != 0 {
		t.Fatalf("Slack is down but saw %d calls", n)
	}
	if err := slack.Up(); err != nil {
		t.Fatal(err)
	}
	waitCalls(t, fake, 90*time.Second, "the incident message once Slack is back", blocksContain(t, "chat.postMessage", "Terminal shell in container"))
	waitCalls(t, fake, 90*time.Second, "the approval buttons once Slack is back", func(c slacktesting.Call) bool {
		return c.Method == "chat.postMessage" && strings.Contains(c.Form.Get("blocks"), "quell_approve")
	})
}
