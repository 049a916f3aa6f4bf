package intake

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/quell-ir/quell/internal/alert"
)

// Values every Alertmanager alert shares.
const (
	// amPayload names Alertmanager webhooks in errors.
	amPayload = "alertmanager webhook"
	// amSource is the Source of alerts from Alertmanager.
	amSource = "alertmanager"
	// amVersion is the webhook body version ParseAlertmanager reads.
	amVersion = "4"
	// amRuleLabel is the label that names the rule.
	amRuleLabel = "alertname"
)

// amWebhook is the part of Alertmanager's webhook body (version 4) that
// quell reads; other keys, and keys of later versions, are ignored.
type amWebhook struct {
	Version         string            `json:"version"`
	Status          string            `json:"status"`
	Receiver        string            `json:"receiver"`
	TruncatedAlerts int64             `json:"truncatedAlerts"`
	Alerts          []json.RawMessage `json:"alerts"`
}

// amAlert is one alert of a webhook. Labels and annotations are read as
// any, so that a value of the wrong type is named precisely.
type amAlert struct {
	Status       string         `json:"status"`
	Labels       map[string]any `json:"labels"`
	Annotations  map[string]any `json:"annotations"`
	StartsAt     string         `json:"startsAt"`
	EndsAt       string         `json:"endsAt"`
	GeneratorURL string         `json:"generatorURL"`
	Fingerprint  string         `json:"fingerprint"`
}

// ParseAlertmanager reads one Alertmanager webhook body (version "4") and
// normalises each of its alerts, in order, with Source "alertmanager":
// Rule is the alertname label, Priority comes from the severity label
// (m.Severity), Time is startsAt, the target is named by labels as m says,
// and the labels and annotations are kept (bounded) with the status
// ("firing" or "resolved").
//
// An alert may lack status (then it is resolved when endsAt has passed),
// fingerprint (then it is computed from the labels as Alertmanager does)
// and generatorURL; unknown keys are ignored. Each alert's IdempotencyKey is
// "alertmanager/<fingerprint>/<startsAt>/<status>": Alertmanager's repeats
// and retries of a notification carry the same key, and its resolution
// another, so the API dedupes on IdempotencyKey and still records the
// resolution once. Every alert has the webhook's Digest.
//
// The webhook is taken whole or refused whole: an error in any alert
// (named as alerts[i]) refuses them all, so that nothing starts for a
// payload quell cannot read. More than MaxAlerts alerts is ErrTooLarge.
func ParseAlertmanager(body []byte, receivedAt time.Time, m LabelMap) ([]alert.Alert, error) {
	var w amWebhook
	if err := decodeBody(amPayload, body, &w, false); err != nil {
		return nil, err
	}
	switch {
	case w.Version != "" && w.Version != amVersion:
		return nil, namedProblem(amPayload, "version", "unsupported version %s (want %q)", quote(w.Version), amVersion)
	case len(w.Alerts) == 0:
		return nil, problem(amPayload, "missing alerts")
	case len(w.Alerts) > MaxAlerts:
		return nil, tooLarge(amPayload, "alerts", "%d alerts, at most %d (set max_alerts in the webhook_config)",
			len(w.Alerts), MaxAlerts)
	}
	group := amGroup{webhook: w, digest: digest(body), receivedAt: receivedAt.UTC(), labels: m}
	out := make([]alert.Alert, 0, len(w.Alerts))
	var errs []error
	for i, raw := range w.Alerts {
		a, err := group.alert(i, raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, a)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// amGroup is what the alerts of one webhook share.
type amGroup struct {
	webhook    amWebhook
	digest     string
	receivedAt time.Time
	labels     LabelMap
}

// alert normalises the webhook's alert i.
func (g amGroup) alert(i int, raw json.RawMessage) (alert.Alert, error) {
	path := fmt.Sprintf("alerts[%d]", i)
	var in amAlert
	if err := decodeValue(amPayload, path, raw, &in, false); err != nil {
		return alert.Alert{}, err
	}
	labels, err := stringMap(amPayload, path+".labels", in.Labels, MaxLabels)
	if err != nil {
		return alert.Alert{}, err
	}
	annotations, err := stringMap(amPayload, path+".annotations", in.Annotations, MaxAnnotations)
	if err != nil {
		return alert.Alert{}, err
	}
	rule := labels[amRuleLabel]
	if strings.TrimSpace(rule) == "" {
		return alert.Alert{}, fieldProblem(amPayload, path+".labels", "missing %s", amRuleLabel)
	}
	if strings.TrimSpace(in.StartsAt) == "" {
		return alert.Alert{}, fieldProblem(amPayload, path, "missing startsAt")
	}
	starts, err := parseTime(amPayload, path+".startsAt", in.StartsAt)
	if err != nil {
		return alert.Alert{}, err
	}
	status, ends, err := g.status(path, in)
	if err != nil {
		return alert.Alert{}, err
	}
	fp, err := fingerprint(path, in.Fingerprint, labels)
	if err != nil {
		return alert.Alert{}, err
	}
	target, err := g.labels.target(path, labels)
	if err != nil {
		return alert.Alert{}, err
	}
	k := &keeper{}
	a := alert.Alert{
		Source:         amSource,
		DetectorID:     fp,
		Rule:           k.text("rule", rule, MaxRule),
		Priority:       g.labels.priority(labels),
		Time:           starts,
		Output:         k.text("output", amOutput(rule, annotations), MaxOutput),
		Target:         target,
		Digest:         g.digest,
		ReceivedAt:     g.receivedAt,
		Status:         status,
		IdempotencyKey: amSource + "/" + fp + "/" + starts.Format(time.RFC3339Nano) + "/" + status,
	}
	a.Labels = keepStrings(k, "labels", labels)
	a.Annotations = keepStrings(k, "annotations", annotations)
	a.Fields = g.fields(in, ends, k)
	if err := k.fit(amPayload, jsonSize(a.Labels, a.Annotations, a.Fields)); err != nil {
		return alert.Alert{}, err
	}
	k.finish(&a)
	return a, nil
}

// status is the alert's status: its own, or when it has none, resolved
// once endsAt has passed and firing before. It returns endsAt too (zero
// when unset, as Alertmanager writes 0001-01-01T00:00:00Z).
func (g amGroup) status(path string, in amAlert) (string, time.Time, error) {
	var ends time.Time
	if s := in.EndsAt; s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err != nil || !t.IsZero() {
			if ends, err = parseTime(amPayload, path+".endsAt", s); err != nil {
				return "", time.Time{}, err
			}
		}
	}
	switch in.Status {
	case alert.StatusFiring, alert.StatusResolved:
		return in.Status, ends, nil
	case "":
		if !ends.IsZero() && !ends.After(g.receivedAt) {
			return alert.StatusResolved, ends, nil
		}
		return alert.StatusFiring, ends, nil
	}
	return "", time.Time{}, fieldProblem(amPayload, path+".status", "%s is not a status (want firing or resolved)", quote(in.Status))
}

// fields are the alert's fields: receiver, generator_url, ends_at (when
// set) and truncated_alerts (when Alertmanager left some out).
func (g amGroup) fields(in amAlert, ends time.Time, k *keeper) map[string]any {
	out := map[string]any{}
	put := func(key, value string) {
		if value != "" {
			k.value(fmt.Sprintf("fields[%q]", key), value, func(s string) { out[key] = s })
		}
	}
	put("receiver", g.webhook.Receiver)
	put("generator_url", in.GeneratorURL)
	if !ends.IsZero() {
		out["ends_at"] = ends.Format(time.RFC3339Nano)
	}
	if n := g.webhook.TruncatedAlerts; n > 0 {
		out["truncated_alerts"] = n
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// fingerprint is the alert's fingerprint, lower-cased: Alertmanager's
// when given (1 to 64 hex digits), else the one Alertmanager computes
// from the labels (FNV-1a over the sorted label names and values).
func fingerprint(path, given string, labels map[string]string) (string, error) {
	if given == "" {
		ls := make(model.LabelSet, len(labels))
		for k, v := range labels {
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
		return ls.Fingerprint().String(), nil
	}
	fp := strings.ToLower(given)
	if len(fp) > 64 || strings.Trim(fp, "0123456789abcdef") != "" {
		return "", fieldProblem(amPayload, path+".fingerprint", "%s is not a fingerprint (want 1 to 64 hex digits)", quote(given))
	}
	return fp, nil
}

// amOutput is the alert's human line: its summary, description or message
// annotation, or its rule when it has none.
func amOutput(rule string, annotations map[string]string) string {
	for _, key := range []string{"summary", "description", "message"} {
		if s := strings.TrimSpace(annotations[key]); s != "" {
			return s
		}
	}
	return rule
}

// stringMap reads labels or annotations: at most limit of them, each
// name checked and each value a string. Null or absent is nil.
func stringMap(payload, path string, in map[string]any, limit int) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > limit {
		return nil, tooLarge(payload, path, "%d entries, at most %d", len(in), limit)
	}
	out := make(map[string]string, len(in))
	for _, name := range slices.Sorted(maps.Keys(in)) {
		if err := checkName(payload, path, name); err != nil {
			return nil, err
		}
		switch v := in[name].(type) {
		case string:
			out[name] = v
		case nil:
		default:
			return nil, fieldProblem(payload, fmt.Sprintf("%s[%q]", path, name), "want a string, got %s", jsonType(v))
		}
	}
	return out, nil
}

// keepStrings keeps a map of strings safe and cut, as the alert's field
// named field; an empty map is nil.
func keepStrings(k *keeper, field string, in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for _, name := range slices.Sorted(maps.Keys(in)) {
		k.value(fmt.Sprintf("%s[%q]", field, name), in[name], func(s string) { out[name] = s })
	}
	return out
}
