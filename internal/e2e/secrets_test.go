package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/quell-ir/quell/internal/audit"
	"github.com/quell-ir/quell/internal/auth"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/slack/slacktesting"
)

// TestSecretsStayOut runs a whole incident, approval and report included,
// with every kind of secret quell takes configured, and looks for each in
// everything quell wrote: its logs, the incident's Temporal history, the
// incident as the API shows it, and every file under the data dir
// (reports, evidence, audit log, the Temporal database). The audit log
// holds the incident's alert, decision and a refusal, in a chain that one
// edited byte breaks.
func TestSecretsStayOut(t *testing.T) {
	const (
		apiToken   = "quell-e2e-SECRET-api-token-0123456789abcdef"
		intakeHMAC = "quell-e2e-SECRET-falco-hmac-0123456789abcdef"
	)
	fake := slacktesting.New(t)
	sc := fake.Config()
	s := startStack(t, "", func(c *config.Config) {
		c.Approvals.Approvers = []string{"admin"}
		c.API.Token = apiToken
		c.Auth.Intake = map[string]config.IntakeCredential{"falco": {HMACSecret: intakeHMAC}}
		c.Slack = config.Slack{BotToken: sc.BotToken, SigningSecret: sc.SigningSecret, Channel: sc.Channel, APIURL: sc.APIURL}
	})
	s.token = apiToken
	secrets := []string{apiToken, intakeHMAC, sc.BotToken, sc.SigningSecret}
	ctr := victim(t, s.docker, "e2e-secrets-"+randomSuffix())

	body := falcoAlert(t, ctr.ID)
	req, err := http.NewRequest("POST", s.url+"/v1/alerts/falco", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(auth.DefaultSignatureHeader, auth.Sign([]byte(intakeHMAC), body, ""))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var o opened
	err = json.NewDecoder(resp.Body).Decode(&o)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || err != nil {
		t.Fatalf("signed alert: %d %v", resp.StatusCode, err)
	}
	cleanupIncident(t, s.docker, &o.IncidentID)
	s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusAwaitingApproval))
	if code := s.do("POST", "/v1/incidents/"+o.IncidentID+"/decisions", apiToken,
		[]byte(`{"step":"approve-recovery","decision":"reject","comment":"keep it"}`), nil); code != http.StatusOK {
		t.Fatalf("decision: %d", code)
	}
	inc := s.incident(o.IncidentID, time.Minute, hasStatus(incident.StatusCompleted))
	if len(inc.Decisions) != 1 || inc.Decisions[0].Approver != "admin" {
		t.Errorf("decisions = %+v, want admin's", inc.Decisions)
	}
	if code := s.do("GET", "/v1/incidents", "quell-e2e-not-a-token-anyone-was-given", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	checkAudit(t, audit.Path(s.cfg.DataDir), "alert.falco accepted", "decision accepted", "incidents.list refused")

	places := map[string]string{"logs": s.logs.String()}
	hist, err := protojson.Marshal(&historypb.History{Events: s.history(o.IncidentID)})
	if err != nil {
		t.Fatal(err)
	}
	places["history"] = string(hist)
	var shown json.RawMessage
	s.do("GET", "/v1/incidents/"+o.IncidentID, apiToken, nil, &shown)
	places["incident"] = string(shown)
	err = filepath.WalkDir(s.cfg.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		places[path] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(places) < 8 {
		t.Fatalf("only %d places to look in: %v", len(places), places)
	}
	for where, text := range places {
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("secret %.12s... found in %s", secret, where)
			}
		}
	}
}

// checkAudit checks that the audit log's chain holds, that it records
// each of want ("<action> <outcome>") in order, and that editing one byte
// of its last line breaks the chain at that line.
func checkAudit(t *testing.T, path string, want ...string) {
	t.Helper()
	if _, err := audit.VerifyFile(path); err != nil {
		t.Fatalf("audit log: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	next := 0
	for _, line := range lines {
		var e audit.Event
		if err := json.Unmarshal([]byte(line), &e); err == nil && next < len(want) && e.Action+" "+e.Outcome == want[next] {
			next++
		}
	}
	if next < len(want) {
		t.Errorf("audit log lacks %q (in order) among its %d lines:\n%s", want[next], len(lines), b)
	}
	n := len(lines)
	edited := []byte(strings.Join(lines, "\n") + "\n")
	at := len(strings.Join(lines[:n-1], "\n")) + 20 // a byte inside the last line
	edited[at] ^= 1
	var brk *audit.BreakError
	if err := audit.Verify(bytes.NewReader(edited)); !errors.As(err, &brk) || brk.Line != n {
		t.Errorf("a byte edited in line %d: %v, want the chain broken at that line", n, err)
	}
}
