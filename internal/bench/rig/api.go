package rig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/quell-ir/quell/internal/incident"
)

// API is a client of quell's HTTP API.
type API struct {
	URL  string
	HTTP *http.Client
}

// NewAPI returns a client of the API at url keeping up to conns idle
// connections (0: a few).
func NewAPI(url string, conns int) *API {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(conns, 4)
	tr.MaxIdleConns = max(conns, 100)
	return &API{URL: url, HTTP: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// Opened is quell's answer to an alert that opened or joined an incident.
type Opened struct {
	IncidentID   string `json:"incident_id"`
	Deduplicated bool   `json:"deduplicated"`
}

// PostAlert posts a Falco alert. It returns the answer's status code, and
// the incident on 202; any other status is an error naming the answer.
func (a *API) PostAlert(ctx context.Context, body []byte) (Opened, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL+"/v1/alerts/falco", bytes.NewReader(body))
	if err != nil {
		return Opened{}, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return Opened{}, 0, fmt.Errorf("post alert: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Opened{}, resp.StatusCode, fmt.Errorf("post alert: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return Opened{}, resp.StatusCode, fmt.Errorf("post alert: %d %s", resp.StatusCode, bytes.TrimSpace(raw))
	}
	var o Opened
	if err := json.Unmarshal(raw, &o); err != nil {
		return Opened{}, resp.StatusCode, fmt.Errorf("post alert: answer %q: %w", raw, err)
	}
	return o, resp.StatusCode, nil
}

// Incident returns the incident's state.
func (a *API) Incident(ctx context.Context, id string) (incident.Incident, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/v1/incidents/"+id, nil)
	if err != nil {
		return incident.Incident{}, err
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("incident %s: %w", id, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("incident %s: %w", id, err)
	}
	if resp.StatusCode != http.StatusOK {
		return incident.Incident{}, fmt.Errorf("incident %s: %d %.300s", id, resp.StatusCode, bytes.TrimSpace(raw))
	}
	var inc incident.Incident
	if err := json.Unmarshal(raw, &inc); err != nil {
		return incident.Incident{}, fmt.Errorf("incident %s: %w", id, err)
	}
	return inc, nil
}

// WaitIncident polls the incident every interval until done accepts it,
// and returns the last state seen with an error when ctx ends first. Failed
// reads (the worker that answers queries may be down) are retried.
func (a *API) WaitIncident(ctx context.Context, id string, interval time.Duration, done func(incident.Incident) bool) (incident.Incident, error) {
	var last incident.Incident
	var lastErr error
	for {
		inc, err := a.Incident(ctx, id)
		if err == nil {
			last = inc
			if done(inc) {
				return inc, nil
			}
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("incident %s: status %q, steps %s (last error: %v): %w",
				id, last.Status, StepStatuses(last), lastErr, context.Cause(ctx))
		case <-time.After(interval):
		}
	}
}

// Decision is a responder's decision on an approval step, as the API takes it.
type Decision struct {
	Step     string `json:"step"`
	Decision string `json:"decision"`
	Approver string `json:"approver"`
	Comment  string `json:"comment,omitempty"`
	// RequestID makes a retried post decide once.
	RequestID string `json:"request_id,omitempty"`
}

// Decide posts the decision on the incident's approval step. Any answer
// but 200 is an error naming the status and the answer.
func (a *API) Decide(ctx context.Context, id string, d Decision) error {
	body, err := json.Marshal(d)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL+"/v1/incidents/"+id+"/decisions", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("decide %s on %s: %w", d.Step, id, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("decide %s on %s: %d %.300s", d.Step, id, resp.StatusCode, bytes.TrimSpace(raw))
	}
	return nil
}

// StepStatuses is "id=status" for every step, for messages.
func StepStatuses(inc incident.Incident) string {
	var b bytes.Buffer
	for i, s := range inc.Steps {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", s.ID, s.Status)
		if s.Error != "" {
			fmt.Fprintf(&b, "(%s)", s.Error)
		}
	}
	return b.String()
}

// Finished reports whether the incident has closed: completed or failed.
func Finished(inc incident.Incident) bool {
	return inc.Status == incident.StatusCompleted || inc.Status == incident.StatusFailed
}

// Resting reports whether the incident has stopped working for now: it has
// closed, or it waits for a responder's decision.
func Resting(inc incident.Incident) bool {
	return Finished(inc) || inc.Status == incident.StatusAwaitingApproval
}

// Healthy reports whether every step that has run succeeded and the
// incident did not fail; steps still pending or waiting are fine.
func Healthy(inc incident.Incident) bool {
	if inc.Status == incident.StatusFailed {
		return false
	}
	for _, s := range inc.Steps {
		switch s.Status {
		case incident.StepSucceeded, incident.StepPending, incident.StepAwaitingApproval:
		default:
			return false
		}
	}
	return true
}

// Alert makes Falco alerts from Falco's documented terminal-shell sample
// (falcosecurity/falco-website, CC BY 4.0; /work/shared/samples).
type Alert struct {
	raw []byte
}

// sampleID is the container ID in the sample.
const sampleID = "ee97d9c4186f"

// podFields are the sample's Kubernetes fields: the sample was taken in a
// pod, and quell targets a pod when an alert names one.
var podFields = regexp.MustCompile(`"k8s\.(ns|pod)\.name":"[^"]*",?`)

// LoadAlert reads the sample alert at path as Falco writes it on a plain
// Docker host: the sample's Kubernetes fields are taken out (as text, so
// that its nanosecond times survive), and it names a container.
func LoadAlert(path string) (Alert, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Alert{}, fmt.Errorf("falco sample: %w", err)
	}
	if !bytes.Contains(raw, []byte(sampleID)) {
		return Alert{}, fmt.Errorf("falco sample %s: no container id %s to replace", path, sampleID)
	}
	return Alert{raw: podFields.ReplaceAll(raw, nil)}, nil
}

// For returns the alert aimed at the container (a full ID or 12 digits).
func (a Alert) For(containerID string) []byte {
	return bytes.ReplaceAll(a.raw, []byte(sampleID), []byte(containerID[:12]))
}

// Tagged returns the alert with tag first among its tags, so that a
// playbook matching on the tag takes it. The sample is edited as text: its
// nanosecond times do not survive a round trip through float64.
func (a Alert) Tagged(tag string) (Alert, error) {
	const list = `"tags":[`
	if !bytes.Contains(a.raw, []byte(list)) {
		return Alert{}, fmt.Errorf("falco sample: no %s to add tag %q to", list, tag)
	}
	quoted, err := json.Marshal(tag)
	if err != nil {
		return Alert{}, err
	}
	sep := []byte(",")
	if bytes.Contains(a.raw, []byte(list+"]")) {
		sep = nil
	}
	raw := bytes.Replace(a.raw, []byte(list), slices.Concat([]byte(list), quoted, sep), 1)
	return Alert{raw: raw}, nil
}

// PodAlert makes Falco alerts about a Kubernetes pod from the same sample,
// as Falco writes them on a node: hostname, namespace, pod and image set.
type PodAlert struct {
	raw []byte
}

// sampleFields are the fields PodAlert.For sets, by their JSON key.
var sampleFields = map[string]*regexp.Regexp{
	"hostname":                   regexp.MustCompile(`"hostname":"[^"]*"`),
	"k8s.ns.name":                regexp.MustCompile(`"k8s\.ns\.name":"[^"]*"`),
	"k8s.pod.name":               regexp.MustCompile(`"k8s\.pod\.name":"[^"]*"`),
	"container.image.repository": regexp.MustCompile(`"container\.image\.repository":"[^"]*"`),
}

// outputPod is where a Falco output text names the pod.
var outputPod = regexp.MustCompile(`k8s\.ns=[a-z0-9.-]* k8s\.pod=[a-z0-9.-]*`)

// LoadPodAlert reads the sample alert at path, which names a pod.
func LoadPodAlert(path string) (PodAlert, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return PodAlert{}, fmt.Errorf("falco sample: %w", err)
	}
	for key, re := range sampleFields {
		if !re.Match(raw) {
			return PodAlert{}, fmt.Errorf("falco sample %s: no %s to set", path, key)
		}
	}
	return PodAlert{raw: raw}, nil
}

// For returns the alert as the node host saw it in pod namespace/pod,
// running image (a repository, as Falco reports it). The sample is edited
// as text, so that its nanosecond times survive.
func (a PodAlert) For(host, namespace, pod, image string) []byte {
	raw := a.raw
	for key, value := range map[string]string{
		"hostname": host, "k8s.ns.name": namespace, "k8s.pod.name": pod, "container.image.repository": image,
	} {
		kv, _ := json.Marshal(map[string]string{key: value})
		raw = sampleFields[key].ReplaceAllLiteral(raw, bytes.Trim(kv, "{}"))
	}
	// Falco's output text names the pod too, as its rule formats it; a
	// responder that tells events apart by their text (Falco Talon's
	// deduplication does) sees one event a pod.
	raw = outputPod.ReplaceAllLiteral(raw, []byte("k8s.ns="+namespace+" k8s.pod="+pod))
	return raw
}
