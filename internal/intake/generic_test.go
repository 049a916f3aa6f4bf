package intake

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

func TestParseGeneric(t *testing.T) {
	receivedAt := time.Date(2024, 2, 3, 4, 5, 6, 7, time.FixedZone("CET", 3600))
	body := []byte(`{"source":"my-edr","id":"evt-1","rule":"Reverse shell","priority":"critical","time":"2024-02-03T05:05:06+01:00",
		"output":"bash -i\u001b[2J connected","tags":["network","shell"],"fields":{"proc.cmdline":"bash -i","proc.pid":4242,"gone":null},
		"labels":{"team":"payments"},
		"target":{"host":"node-1","container_id":"3F2A9C1D0B7E","container_name":"/web","image":"example/app:1.4"}}`)
	got, err := ParseGeneric(body, receivedAt)
	if err != nil {
		t.Fatalf("ParseGeneric: %v", err)
	}
	want := alert.Alert{
		Source: "my-edr", DetectorID: "evt-1", Rule: "Reverse shell", Priority: alert.Critical,
		Time:   time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC),
		Output: `bash -i\x1b[2J connected`,
		Tags:   []string{"network", "shell"},
		Fields: map[string]any{"proc.cmdline": "bash -i", "proc.pid": int64(4242)},
		Target: alert.Target{Kind: "docker", Host: "node-1", ContainerID: "3f2a9c1d0b7e", ContainerName: "web", Image: "example/app:1.4"},
		Digest: digest(body), ReceivedAt: receivedAt.UTC(),
		Labels:         map[string]string{"team": "payments"},
		IdempotencyKey: "my-edr/evt-1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseGeneric:\ngot  %+v\nwant %+v", got, want)
	}
	if key, err := got.Target.UnitKey(); err != nil || key != "docker-node-1-3f2a9c1d0b7e" {
		t.Errorf("UnitKey = %q, %v", key, err)
	}

	bare, err := ParseGeneric([]byte(`{"source":"s","rule":"r","priority":"warn"}`), receivedAt)
	if err != nil || !bare.Time.Equal(receivedAt) || bare.Priority != alert.Warning || bare.Target.Kind != "" {
		t.Errorf("minimal alert = %+v, %v: want the received time, warning and no target", bare, err)
	}
}

func TestParseGenericErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty", ``, `alert: empty body`},
		{"missing all", `{}`, `alert: missing source, rule, priority`},
		{"unknown key", `{"source":"s","rule":"r","priority":"info","container_id":"x"}`, `alert: unknown field "container_id"`},
		{"unknown target key", `{"source":"s","rule":"r","priority":"info","target":{"id":"x"}}`, `alert: unknown field "id"`},
		{"reserved", `{"source":"falco","rule":"r","priority":"info"}`, `alert: source: "falco" is reserved for quell's own falco intake`},
		{"bad source", `{"source":"My Detector","rule":"r","priority":"info"}`,
			`alert: source: "My Detector" is not a source (want ^[a-z0-9][a-z0-9._-]{0,62}$)`},
		{"bad priority", `{"source":"s","rule":"r","priority":"Critical"}`,
			`alert: priority: "Critical" is not a priority (want one of debug, info, informational, notice, warn, warning, error, critical, alert, emergency)`},
		{"bad id", `{"source":"s","rule":"r","priority":"info","id":"a/b"}`, `alert: id: "a/b" is not an ID (want ^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,127}$)`},
		{"bad time", `{"source":"s","rule":"r","priority":"info","time":"today"}`, `alert: invalid time "today" (want RFC 3339)`},
		{"rule a number", `{"source":"s","rule":1,"priority":"info"}`, `alert: rule: want a string, got number`},
		{"target a string", `{"source":"s","rule":"r","priority":"info","target":"web"}`, `alert: target: want an object, got string`},
		{"path as ID", `{"source":"s","rule":"r","priority":"info","target":{"container_id":"../../etc"}}`,
			`alert: target.container_id: "../../etc" is not a container ID (want 12 to 64 hex digits)`},
		{"kubernetes without pod", `{"source":"s","rule":"r","priority":"info","target":{"kind":"kubernetes","namespace":"shop"}}`,
			`alert: target.kind: kubernetes target needs a namespace and a pod`},
		{"several", `{"source":"S","rule":"","priority":"info","time":"x","tags":[1]}`,
			"alert: missing rule\nalert: source: \"S\" is not a source (want ^[a-z0-9][a-z0-9._-]{0,62}$)\n" +
				"alert: invalid time \"x\" (want RFC 3339)\nalert: tags[0]: want a string, got number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseGeneric([]byte(tt.body), time.Now())
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error:\ngot  %v\nwant %s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) || !reflect.DeepEqual(got, alert.Alert{}) {
				t.Errorf("got %+v, %v: want the zero Alert and ErrInvalid", got, err)
			}
		})
	}
}
