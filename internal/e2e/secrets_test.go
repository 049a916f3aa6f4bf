package e2e

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/quell-ir/quell/internal/auth"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/slack/slacktesting"
)

// TestSecretsStayOut runs a whole incident, approval and report included,
// with every kind of secret quell takes configured, and looks for each in
// everything quell wrote: its logs, the incident's Temporal history, the
// incident as the API shows it, and every file under the data dir
// (reports, evidence, audit log, the Temporal database).
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
