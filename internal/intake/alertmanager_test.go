package intake

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// amBody is a webhook with the given alerts (JSON objects, joined).
func amBody(alerts ...string) []byte {
	return []byte(`{"version":"4","groupKey":"{}:{alertname=\"x\"}","status":"firing","receiver":"quell",` +
		`"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093","alerts":[` +
		strings.Join(alerts, ",") + `]}`)
}

func TestParseAlertmanager(t *testing.T) {
	receivedAt := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	body := amBody(
		`{"status":"firing","labels":{"alertname":"ContainerShell","severity":"critical","container_id":"3F2A9C1D0B7E","name":"web","instance":"node-1:9100","image":"example/app:1.4","job":"cadvisor"},`+
			`"annotations":{"summary":"Shell in web","runbook":"https://runbooks/shell"},"startsAt":"2024-02-03T04:00:00.5+01:00","endsAt":"0001-01-01T00:00:00Z",`+
			`"generatorURL":"http://prometheus:9090/graph?g0.expr=x","fingerprint":"C0FFEE0123456789"}`,
		`{"status":"resolved","labels":{"alertname":"KubePodCrashLooping","severity":"warning","namespace":"shop","pod":"web-0","container":"app","cluster":"prod-eu","instance":"10.0.0.7:8080"},`+
			`"annotations":{"description":"Pod shop/web-0 is crash looping."},"startsAt":"2024-02-03T03:00:00Z","endsAt":"2024-02-03T04:00:00Z","fingerprint":"0123456789abcdef"}`,
	)
	got, err := ParseAlertmanager(body, receivedAt, DefaultLabelMap())
	if err != nil {
		t.Fatalf("ParseAlertmanager: %v", err)
	}
	d := digest(body)
	want := []alert.Alert{
		{
			Source: "alertmanager", DetectorID: "c0ffee0123456789", Rule: "ContainerShell", Priority: alert.Critical,
			Time:   time.Date(2024, 2, 3, 3, 0, 0, 500000000, time.UTC),
			Output: "Shell in web",
			Fields: map[string]any{"receiver": "quell", "generator_url": "http://prometheus:9090/graph?g0.expr=x"},
			Target: alert.Target{Kind: "docker", Host: "node-1", ContainerID: "3f2a9c1d0b7e", ContainerName: "web", Image: "example/app:1.4"},
			Digest: d, ReceivedAt: receivedAt,
			Labels: map[string]string{"alertname": "ContainerShell", "severity": "critical", "container_id": "3F2A9C1D0B7E", "name": "web",
				"instance": "node-1:9100", "image": "example/app:1.4", "job": "cadvisor"},
			Annotations:    map[string]string{"summary": "Shell in web", "runbook": "https://runbooks/shell"},
			Status:         "firing",
			IdempotencyKey: "alertmanager/c0ffee0123456789/2024-02-03T03:00:00.5Z/firing",
		},
		{
			Source: "alertmanager", DetectorID: "0123456789abcdef", Rule: "KubePodCrashLooping", Priority: alert.Warning,
			Time:   time.Date(2024, 2, 3, 3, 0, 0, 0, time.UTC),
			Output: "Pod shop/web-0 is crash looping.",
			Fields: map[string]any{"receiver": "quell", "ends_at": "2024-02-03T04:00:00Z"},
			Target: alert.Target{Kind: "kubernetes", Host: "10.0.0.7", Cluster: "prod-eu", ContainerName: "app", Namespace: "shop", Pod: "web-0"},
			Digest: d, ReceivedAt: receivedAt,
			Labels: map[string]string{"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop", "pod": "web-0",
				"container": "app", "cluster": "prod-eu", "instance": "10.0.0.7:8080"},
			Annotations:    map[string]string{"description": "Pod shop/web-0 is crash looping."},
			Status:         "resolved",
			IdempotencyKey: "alertmanager/0123456789abcdef/2024-02-03T03:00:00Z/resolved",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseAlertmanager:\ngot  %+v\nwant %+v", got, want)
	}
	for _, a := range got {
		if _, err := a.Target.UnitKey(); err != nil {
			t.Errorf("UnitKey(%+v): %v", a.Target, err)
		}
	}
}

// TestParseAlertmanagerRepeats checks the idempotency key: Alertmanager's
// repeats of a firing alert (another group, a later notification) share
// it, its resolution does not, and a new firing after that has its own.
func TestParseAlertmanagerRepeats(t *testing.T) {
	const labels = `"labels":{"alertname":"A","container_id":"3f2a9c1d0b7e"}`
	key := func(body []byte) string {
		t.Helper()
		as, err := ParseAlertmanager(body, time.Now(), DefaultLabelMap())
		if err != nil {
			t.Fatalf("ParseAlertmanager: %v", err)
		}
		return as[0].IdempotencyKey
	}
	first := key(amBody(`{"status":"firing",` + labels + `,"startsAt":"2024-02-03T04:00:00Z","endsAt":"2024-02-03T04:10:00Z"}`))
	repeat := key([]byte(`{"version":"4","receiver":"other","alerts":[{"status":"firing",` + labels +
		`,"startsAt":"2024-02-03T04:00:00Z","endsAt":"2024-02-03T04:20:00Z","annotations":{"summary":"now"}}]}`))
	resolved := key(amBody(`{"status":"resolved",` + labels + `,"startsAt":"2024-02-03T04:00:00Z","endsAt":"2024-02-03T04:30:00Z"}`))
	again := key(amBody(`{"status":"firing",` + labels + `,"startsAt":"2024-02-03T05:00:00Z"}`))
	if first != repeat {
		t.Errorf("repeat: key %q, first %q: want one", repeat, first)
	}
	if resolved == first || again == first || again == resolved {
		t.Errorf("keys %q, %q, %q: want three", first, resolved, again)
	}
	// Without fingerprints, the computed one keeps the same promise.
	noFP := key([]byte(`{"alerts":[{` + labels + `,"startsAt":"2024-02-03T04:00:00Z"}]}`))
	if noFP != first {
		t.Errorf("computed fingerprint key %q, want %q", noFP, first)
	}
}

func TestFingerprint(t *testing.T) {
	// prometheus/common's own vector: the labels' FNV-1a signature.
	labels := map[string]string{"name": "garland, briggs", "fear": "love is not enough"}
	if got, err := fingerprint("alerts[0]", "", labels); err != nil || got != "507a62d79ee76c9a" {
		t.Errorf("fingerprint = %q, %v; want 507a62d79ee76c9a (5799056148416392346)", got, err)
	}
	if got, err := fingerprint("alerts[0]", "ABCDEF01", labels); err != nil || got != "abcdef01" {
		t.Errorf("given fingerprint = %q, %v; want abcdef01", got, err)
	}
	for _, bad := range []string{"xyz", "../1", strings.Repeat("a", 65)} {
		if _, err := fingerprint("alerts[0]", bad, labels); err == nil {
			t.Errorf("fingerprint %q taken", bad)
		}
	}
}

func TestParseAlertmanagerStatus(t *testing.T) {
	receivedAt := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	tests := []struct {
		name, members, want string
	}{
		{"no status, no endsAt", ``, "firing"},
		{"no status, endsAt zero", `,"endsAt":"0001-01-01T00:00:00Z"`, "firing"},
		{"no status, endsAt ahead", `,"endsAt":"2024-02-03T04:10:00Z"`, "firing"},
		{"no status, endsAt passed", `,"endsAt":"2024-02-03T04:00:00Z"`, "resolved"},
		{"no status, endsAt now", `,"endsAt":"2024-02-03T04:05:06Z"`, "resolved"},
		{"firing, endsAt passed", `,"status":"firing","endsAt":"2024-02-03T04:00:00Z"`, "firing"},
		{"resolved", `,"status":"resolved"`, "resolved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"status":"resolved","alerts":[{"labels":{"alertname":"A"},"startsAt":"2024-02-03T03:00:00Z"` + tt.members + `}]}`)
			as, err := ParseAlertmanager(body, receivedAt, DefaultLabelMap())
			if err != nil {
				t.Fatalf("ParseAlertmanager: %v", err)
			}
			if as[0].Status != tt.want || !strings.HasSuffix(as[0].IdempotencyKey, "/"+tt.want) {
				t.Errorf("Status, key = %q, %q; want %s", as[0].Status, as[0].IdempotencyKey, tt.want)
			}
		})
	}
}

func TestAlertmanagerPriority(t *testing.T) {
	m := DefaultLabelMap()
	for _, tt := range []struct {
		severity string
		want     alert.Priority
	}{
		{"critical", alert.Critical}, {"CRITICAL", alert.Critical}, {"warning", alert.Warning}, {"warn", alert.Warning},
		{"info", alert.Informational}, {"error", alert.Error}, {"page", alert.Critical}, {"high", alert.Error},
		{"medium", alert.Warning}, {"low", alert.Notice}, {"none", alert.Informational}, {"emergency", alert.Emergency},
		{"", alert.Warning}, {"p1", alert.Warning},
	} {
		if got := m.priority(map[string]string{"severity": tt.severity}); got != tt.want {
			t.Errorf("severity %q: priority %v, want %v", tt.severity, got, tt.want)
		}
	}
	m.DefaultPriority = alert.Notice
	if got := m.priority(nil); got != alert.Notice {
		t.Errorf("no severity: %v, want the map's default notice", got)
	}
	m.Severity = "level"
	if got := m.priority(map[string]string{"level": "critical", "severity": "info"}); got != alert.Critical {
		t.Errorf("severity from level: %v, want critical", got)
	}
}

func TestAlertmanagerTargets(t *testing.T) {
	custom := DefaultLabelMap()
	custom.ContainerID, custom.Container, custom.Instance, custom.Namespace = "cid", "", "host", ""
	tests := []struct {
		name   string
		labels string
		m      LabelMap
		want   alert.Target
	}{
		{"none", `"job":"node"`, DefaultLabelMap(), alert.Target{}},
		{"instance alone names no unit", `"instance":"not_a_host:9100"`, DefaultLabelMap(), alert.Target{}},
		{"container label holding an ID", `"container":"3f2a9c1d0b7e","instance":"[2001:db8::1]:9100"`, DefaultLabelMap(),
			alert.Target{Kind: "docker", Host: "2001:db8::1", ContainerID: "3f2a9c1d0b7e"}},
		{"container label holding a name", `"container":"web","instance":"node-1"`, DefaultLabelMap(),
			alert.Target{Kind: "docker", Host: "node-1", ContainerName: "web"}},
		{"container_id wins, container is the name", `"container_id":"3f2a9c1d0b7e","container":"aaaaaaaaaaaa"`, DefaultLabelMap(),
			alert.Target{Kind: "docker", ContainerID: "3f2a9c1d0b7e", ContainerName: "aaaaaaaaaaaa"}},
		{"image alone names no unit", `"image":"nginx:1.27"`, DefaultLabelMap(), alert.Target{}},
		{"custom labels", `"cid":"3F2A9C1D0B7E","host":"node-2","instance":"ignored:1","namespace":"shop","pod":"web-0"`, custom,
			alert.Target{Kind: "docker", Host: "node-2", ContainerID: "3f2a9c1d0b7e", Pod: "web-0"}},
		{"empty map reads nothing", `"container_id":"3f2a9c1d0b7e"`, LabelMap{}, alert.Target{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"alerts":[{"labels":{"alertname":"A",` + tt.labels + `},"startsAt":"2024-02-03T03:00:00Z"}]}`)
			as, err := ParseAlertmanager(body, time.Now(), tt.m)
			if err != nil {
				t.Fatalf("ParseAlertmanager: %v", err)
			}
			if !reflect.DeepEqual(as[0].Target, tt.want) {
				t.Errorf("Target:\ngot  %+v\nwant %+v", as[0].Target, tt.want)
			}
		})
	}
}

func TestParseAlertmanagerErrors(t *testing.T) {
	const ok = `{"labels":{"alertname":"A"},"startsAt":"2024-02-03T03:00:00Z"}`
	tests := []struct {
		name, body, want string
	}{
		{"empty", ``, `alertmanager webhook: empty body`},
		{"array", `[]`, `alertmanager webhook: invalid JSON: want an object, got array`},
		{"version 3", `{"version":"3","alerts":[` + ok + `]}`, `alertmanager webhook: unsupported version "3" (want "4")`},
		{"no alerts", `{"version":"4"}`, `alertmanager webhook: missing alerts`},
		{"empty alerts", `{"version":"4","alerts":[]}`, `alertmanager webhook: missing alerts`},
		{"alerts an object", `{"alerts":{}}`, `alertmanager webhook: alerts: want an array, got object`},
		{"alert a string", `{"alerts":["x"]}`, `alertmanager webhook: alerts[0]: want an object, got string`},
		{"labels an array", `{"alerts":[{"labels":[]}]}`, `alertmanager webhook: alerts[0].labels: want an object, got array`},
		{"label a number", `{"alerts":[{"labels":{"alertname":"A","n":1}}]}`, `alertmanager webhook: alerts[0].labels["n"]: want a string, got number`},
		{"no alertname", `{"alerts":[` + ok + `,{"labels":{"job":"x"},"startsAt":"2024-02-03T03:00:00Z"}]}`,
			`alertmanager webhook: alerts[1].labels: missing alertname`},
		{"no startsAt", `{"alerts":[{"labels":{"alertname":"A"}}]}`, `alertmanager webhook: alerts[0]: missing startsAt`},
		{"bad startsAt", `{"alerts":[{"labels":{"alertname":"A"},"startsAt":"now"}]}`,
			`alertmanager webhook: invalid alerts[0].startsAt "now" (want RFC 3339)`},
		{"bad endsAt", `{"alerts":[{"labels":{"alertname":"A"},"startsAt":"2024-02-03T03:00:00Z","endsAt":"later"}]}`,
			`alertmanager webhook: invalid alerts[0].endsAt "later" (want RFC 3339)`},
		{"bad status", `{"alerts":[{"status":"pending","labels":{"alertname":"A"},"startsAt":"2024-02-03T03:00:00Z"}]}`,
			`alertmanager webhook: alerts[0].status: "pending" is not a status (want firing or resolved)`},
		{"bad fingerprint", `{"alerts":[{"fingerprint":"../x","labels":{"alertname":"A"},"startsAt":"2024-02-03T03:00:00Z"}]}`,
			`alertmanager webhook: alerts[0].fingerprint: "../x" is not a fingerprint (want 1 to 64 hex digits)`},
		{"startsAt a number", `{"alerts":[{"labels":{"alertname":"A"},"startsAt":1}]}`,
			`alertmanager webhook: alerts[0].startsAt: want a string, got number`},
		{"path as container", `{"alerts":[{"labels":{"alertname":"A","container_id":"../../etc"},"startsAt":"2024-02-03T03:00:00Z"}]}`,
			`alertmanager webhook: alerts[0].labels["container_id"]: "../../etc" is not a container ID (want 12 to 64 hex digits)`},
		{"command as container", `{"alerts":[{"labels":{"alertname":"A","container":"$(id)"},"startsAt":"2024-02-03T03:00:00Z"}]}`,
			`alertmanager webhook: alerts[0].labels["container"]: "$(id)" is not a container name (want [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 512 bytes)`},
		{"instance no host", `{"alerts":[{"labels":{"alertname":"A","container_id":"3f2a9c1d0b7e","instance":"http://x/metrics"},"startsAt":"2024-02-03T03:00:00Z"}]}`,
			`alertmanager webhook: alerts[0].labels["instance"]: "http://x/metrics" is not a host name (want an RFC 1123 name of at most 253 bytes, or an IP address)`},
		{"named port", `{"alerts":[{"labels":{"alertname":"A","container_id":"3f2a9c1d0b7e","instance":"node-1:http"},"startsAt":"2024-02-03T03:00:00Z"}]}`,
			`alertmanager webhook: alerts[0].labels["instance"]: "node-1:http" is not a host name (want an RFC 1123 name of at most 253 bytes, or an IP address)`},
		{"control character in a label name", `{"alerts":[{"labels":{"alertname":"A","a\u0007":"x"},"startsAt":"2024-02-03T03:00:00Z"}]}`,
			`alertmanager webhook: alerts[0].labels: name "a\a" holds control characters`},
		{"two alerts wrong", `{"alerts":[{"labels":{"alertname":"A"}},{"labels":{}}]}`,
			"alertmanager webhook: alerts[0]: missing startsAt\nalertmanager webhook: alerts[1].labels: missing alertname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAlertmanager([]byte(tt.body), time.Now(), DefaultLabelMap())
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error:\ngot  %v\nwant %s", err, tt.want)
			}
			if got != nil || !errors.Is(err, ErrInvalid) {
				t.Errorf("got %+v, %v: want nothing and ErrInvalid", got, err)
			}
		})
	}
}

func TestLabelMapValidate(t *testing.T) {
	if err := DefaultLabelMap().Validate(); err != nil {
		t.Errorf("DefaultLabelMap().Validate() = %v", err)
	}
	m := DefaultLabelMap()
	m.Pod, m.Image, m.DefaultPriority = "a\x00", strings.Repeat("l", 65), 99
	want := "labels: pod: \"a\\x00\" is not a label name\n" +
		"labels: image: \"llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll\"... is not a label name\n" +
		"labels: default_priority priority(99) unknown"
	if err := m.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate:\ngot  %v\nwant %s", err, want)
	}
}
