package intake

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// minimal is the smallest valid alert; tests append to it.
const minimal = `{"rule":"r","priority":"Notice","time":"2023-05-25T13:44:05Z"`

func TestParseFalcoErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"empty body", ``, `falco alert: empty body`},
		{"only whitespace", " \n\t", `falco alert: empty body`},
		{"unterminated object", `{`, `falco alert: invalid JSON: unexpected EOF`},
		{"syntax error", `{"rule":}`, `falco alert: invalid JSON at offset 9: invalid character '}' looking for beginning of value`},
		{"array", `[]`, `falco alert: invalid JSON: want an object, got array`},
		{"string", `"rule"`, `falco alert: invalid JSON: want an object, got string`},
		{"null", `null`, `falco alert: invalid JSON: want an object, got null`},
		{"trailing garbage", `{"rule":"x"} trailing`, `falco alert: invalid JSON at offset 13: data after the object`},
		{"second object", `{"rule":"x"}{}`, `falco alert: invalid JSON at offset 12: data after the object`},
		{"missing all three", `{"output":"x"}`, `falco alert: missing rule, priority, time`},
		{"missing rule", `{"priority":"Notice","time":"2023-05-25T13:44:05Z"}`, `falco alert: missing rule`},
		{"missing priority", `{"rule":"r","time":"2023-05-25T13:44:05Z"}`, `falco alert: missing priority`},
		{"missing time", `{"rule":"r","priority":"Notice"}`, `falco alert: missing time`},
		{"empty and null count as missing", `{"rule":" ","priority":null,"time":""}`, `falco alert: missing rule, priority, time`},
		{"bad priority", `{"rule":"r","priority":"Urgent","time":"2023-05-25T13:44:05Z"}`,
			`falco alert: unknown priority "Urgent" (want one of debug, informational, notice, warning, error, critical, alert, emergency)`},
		{"priority not a string", `{"rule":"r","priority":4,"time":"2023-05-25T13:44:05Z"}`, `falco alert: priority: want a string, got number`},
		{"bad time", `{"rule":"r","priority":"Notice","time":"yesterday"}`, `falco alert: invalid time "yesterday" (want RFC 3339)`},
		{"time without zone", `{"rule":"r","priority":"Notice","time":"2023-05-25T13:44:05"}`, `falco alert: invalid time "2023-05-25T13:44:05" (want RFC 3339)`},
		{"month out of range", `{"rule":"r","priority":"Notice","time":"2023-13-25T13:44:05Z"}`, `falco alert: invalid time "2023-13-25T13:44:05Z" (want RFC 3339)`},
		{"zero time", `{"rule":"r","priority":"Notice","time":"0001-01-01T00:00:00Z"}`, `falco alert: time "0001-01-01T00:00:00Z" out of range`},
		{"year 10000 in UTC", `{"rule":"r","priority":"Notice","time":"9999-12-31T23:59:59-01:00"}`, `falco alert: time "9999-12-31T23:59:59-01:00" out of range`},
		{"fractional time number", `{"rule":"r","priority":"Notice","time":1.5e18}`, `falco alert: invalid time 1.5e18 (want integer nanoseconds since the epoch)`},
		{"time number overflows", `{"rule":"r","priority":"Notice","time":99999999999999999999}`, `falco alert: invalid time 99999999999999999999 (want integer nanoseconds since the epoch)`},
		{"time a bool", `{"rule":"r","priority":"Notice","time":true}`, `falco alert: time: want a string or number, got bool`},
		{"rule not a string", `{"rule":42,"priority":"Notice","time":"2023-05-25T13:44:05Z"}`, `falco alert: rule: want a string, got number`},
		{"missing and invalid together", `{"rule":["r"],"priority":"Notice"}`, "falco alert: missing time\nfalco alert: rule: want a string, got array"},
		{"required and optional together", `{"rule":"r","priority":"Urgent","time":"2023-05-25T13:44:05Z","hostname":1}`,
			"falco alert: unknown priority \"Urgent\" (want one of debug, informational, notice, warning, error, critical, alert, emergency)\nfalco alert: hostname: want a string, got number"},
		{"uuid not a string", minimal + `,"uuid":7}`, `falco alert: uuid: want a string, got number`},
		{"source not a string", minimal + `,"source":{}}`, `falco alert: source: want a string, got object`},
		{"tags not an array", minimal + `,"tags":"shell"}`, `falco alert: tags: want an array of strings, got string`},
		{"tag not a string", minimal + `,"tags":["shell",1]}`, `falco alert: tags[1]: want a string, got number`},
		{"output_fields not an object", minimal + `,"output_fields":[]}`, `falco alert: output_fields: want an object, got array`},
		{"output field overflows", minimal + `,"output_fields":{"a":1,"x":1e400}}`, `falco alert: output_fields["x"]: number 1e400 out of range`},
		{"nested output field overflows", minimal + `,"output_fields":{"x":[0,{"y":-1e400}]}}`, `falco alert: output_fields["x"][1]["y"]: number -1e400 out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFalco([]byte(tt.body), time.Now())
			if err == nil {
				t.Fatalf("ParseFalco(%#q) = %+v, want error %q", tt.body, got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseFalco(%#q) error:\ngot  %q\nwant %q", tt.body, err, tt.want)
			}
			if !reflect.DeepEqual(got, alert.Alert{}) {
				t.Errorf("ParseFalco(%#q) = %+v with an error, want the zero Alert", tt.body, got)
			}
		})
	}
}

func TestParseFalcoTarget(t *testing.T) {
	tests := []struct {
		name   string
		fields string // output_fields
		want   alert.Target
	}{
		{"no output_fields", `null`, alert.Target{}},
		{"no container", `{"proc.name":"sh"}`, alert.Target{}},
		{"host event", `{"container.id":"host","container.name":"host"}`, alert.Target{}},
		{"empty container id", `{"container.id":""}`, alert.Target{}},
		{"container id not available", `{"container.id":"<NA>"}`, alert.Target{}},
		{"container id not a string", `{"container.id":12}`, alert.Target{}},
		{"kubernetes only", `{"k8s.ns.name":"default","k8s.pod.name":"web"}`,
			alert.Target{Kind: "kubernetes", Host: "node-1", Namespace: "default", Pod: "web"}},
		{"namespace without pod", `{"container.id":"ee97d9c4186f","k8s.ns.name":"default","k8s.pod.name":"<NA>"}`,
			alert.Target{Kind: "docker", Host: "node-1", ContainerID: "ee97d9c4186f", Namespace: "default"}},
		{"host event with kubernetes fields", `{"container.id":"host","k8s.ns.name":"default","k8s.pod.name":"web"}`, alert.Target{}},
		{"upper-case ID", `{"container.id":"EE97D9C4186F"}`, alert.Target{Kind: "docker", Host: "node-1", ContainerID: "ee97d9c4186f"}},
		{"full ID", `{"container.id":"ee97d9c4186f0123456789abcdef0123456789abcdef0123456789abcdef0123"}`,
			alert.Target{Kind: "docker", Host: "node-1", ContainerID: "ee97d9c4186f0123456789abcdef0123456789abcdef0123456789abcdef0123"}},
		{"cluster", `{"container.id":"ee97d9c4186f","k8s.ns.name":"shop","k8s.pod.name":"web-0","k8s.cluster.name":"prod-eu"}`,
			alert.Target{Kind: "kubernetes", Host: "node-1", Cluster: "prod-eu", ContainerID: "ee97d9c4186f", Namespace: "shop", Pod: "web-0"}},
		{"image by ID", `{"container.id":"ee97d9c4186f","container.image":"sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1"}`,
			alert.Target{Kind: "docker", Host: "node-1", ContainerID: "ee97d9c4186f",
				Image: "sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1"}},
		{
			"every field",
			`{"container.id":"ee97d9c4186f","container.name":"/web","container.image.repository":"docker.io/library/nginx",
			  "container.image.tag":"1.27","k8s.ns.name":"shop","k8s.pod.name":"web-0"}`,
			alert.Target{Kind: "kubernetes", Host: "node-1", ContainerID: "ee97d9c4186f", ContainerName: "web",
				Image: "docker.io/library/nginx:1.27", Namespace: "shop", Pod: "web-0"},
		},
		{
			"repository without tag",
			`{"container.id":"abcdef012345","container.image.repository":"nginx","container.image.tag":"<NA>"}`,
			alert.Target{Kind: "docker", Host: "node-1", ContainerID: "abcdef012345", Image: "nginx"},
		},
		{
			"container.image instead",
			`{"container.id":"abcdef012345","container.image":"alpine:3.20","container.name":"<NA>"}`,
			alert.Target{Kind: "docker", Host: "node-1", ContainerID: "abcdef012345", Image: "alpine:3.20"},
		},
		{
			"repository not available",
			`{"container.id":"abcdef012345","container.image.repository":"<NA>","container.image":"alpine:3.20"}`,
			alert.Target{Kind: "docker", Host: "node-1", ContainerID: "abcdef012345", Image: "alpine:3.20"},
		},
		{
			"nulls and not available",
			`{"container.id":"abcdef012345","container.image.repository":null,"k8s.ns.name":"<NA>","k8s.pod.name":null}`,
			alert.Target{Kind: "docker", Host: "node-1", ContainerID: "abcdef012345"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := minimal + `,"hostname":"node-1","output_fields":` + tt.fields + `}`
			a, err := ParseFalco([]byte(body), time.Now())
			if err != nil {
				t.Fatalf("ParseFalco: %v", err)
			}
			if got := a.Target; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Target:\ngot  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseFalcoFields(t *testing.T) {
	body := minimal + `,"output_fields":{"i":1,"neg":-1,"f":1.5,"e":1e3,"u64":18446744073709551615,
		"s":"x","na":"<NA>","b":false,"null":null,"arr":[1,null,"a"],"obj":{"k":null,"v":2}}}`
	a, err := ParseFalco([]byte(body), time.Now())
	if err != nil {
		t.Fatalf("ParseFalco: %v", err)
	}
	want := map[string]any{
		"i":   int64(1),
		"neg": int64(-1),
		"f":   1.5,
		"e":   float64(1000),
		"u64": float64(18446744073709551615), // does not fit int64, so float64 as specified
		"s":   "x",
		"na":  "<NA>", // kept as sent: only the target treats it as absent
		"b":   false,
		"arr": []any{int64(1), nil, "a"}, // nulls in arrays keep their place
		"obj": map[string]any{"v": int64(2)},
	}
	if got := a.Fields; !reflect.DeepEqual(got, want) {
		t.Errorf("Fields:\ngot  %#v\nwant %#v", got, want)
	}
}

func TestParseFalcoOptional(t *testing.T) {
	tests := []struct {
		name  string
		extra string // appended to minimal
		want  func(a *alert.Alert)
	}{
		{"nothing optional", `}`, func(a *alert.Alert) {}},
		{"source syscall", `,"source":"syscall"}`, func(a *alert.Alert) {}},
		{"source syscalls", `,"source":"syscalls"}`, func(a *alert.Alert) {}},
		{"source null", `,"source":null}`, func(a *alert.Alert) {}},
		{"source k8s_audit", `,"source":"k8s_audit"}`, func(a *alert.Alert) { a.EventSource = "k8s_audit" }},
		{"source plugin", `,"source":"aws_cloudtrail"}`, func(a *alert.Alert) { a.EventSource = "aws_cloudtrail" }},
		{"uuid", `,"uuid":"42"}`, func(a *alert.Alert) { a.DetectorID, a.IdempotencyKey = "42", "falco/42" }},
		{"uuid unfit for a key", `,"uuid":"a b"}`, func(a *alert.Alert) { a.DetectorID = "a b" }},
		{"empty tags and fields", `,"tags":[],"output_fields":{"a":null}}`, func(a *alert.Alert) {}},
		{"unknown keys", `,"output_fields":{},"falco_version":"0.38.0","extra":{"a":[1,{}]}}`, func(a *alert.Alert) {}},
		{"trailing newline", "}\r\n", func(a *alert.Alert) {}},
		{"all nulls", `,"uuid":null,"output":null,"hostname":null,"tags":null,"output_fields":null}`, func(a *alert.Alert) {}},
	}
	receivedAt := time.Date(2024, 2, 3, 4, 5, 6, 7, time.FixedZone("CET", 3600))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := minimal + tt.extra
			got, err := ParseFalco([]byte(body), receivedAt)
			if err != nil {
				t.Fatalf("ParseFalco: %v", err)
			}
			want := alert.Alert{
				Source: "falco", EventSource: "syscall", Rule: "r", Priority: alert.Notice,
				Time: time.Date(2023, 5, 25, 13, 44, 5, 0, time.UTC), Digest: got.Digest,
				ReceivedAt: time.Date(2024, 2, 3, 3, 5, 6, 7, time.UTC),
			}
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ParseFalco:\ngot  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseFalcoTime(t *testing.T) {
	want := time.Date(2023, 5, 25, 13, 44, 5, 478445995, time.UTC)
	tests := []struct {
		name string
		time string // JSON value
	}{
		{"RFC 3339 in UTC", `"2023-05-25T13:44:05.478445995Z"`},
		{"RFC 3339 with offset", `"2023-05-25T15:44:05.478445995+02:00"`},
		{"nanoseconds since the epoch", `1685022245478445995`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"rule":"r","priority":"info","time":` + tt.time + `}`
			a, err := ParseFalco([]byte(body), time.Now())
			if err != nil {
				t.Fatalf("ParseFalco: %v", err)
			}
			if got := a.Time; !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("Time = %v, want %v", got, want)
			}
		})
	}
}

func FuzzParseFalco(f *testing.F) {
	for _, p := range loadPayloads(f) {
		f.Add(p.body)
	}
	for _, s := range []string{``, `{`, `[]`, `{"rule":"x"} trailing`, minimal + `,"time":1}`,
		minimal + `,"output_fields":{"container.id":"abcdef012345","n":1e308,"a":[null]}}`,
		minimal + `,"source":"k8s_audit","output_fields":{"ka.target.namespace":"a","ka.target.resource":"pods","ka.target.name":"b"}}`,
		minimal + `,"hostname":"h","output_fields":{"container.id":"ABCDEF012345","k8s.ns.name":"a","k8s.pod.name":"b","proc.cmdline":"\u0000\u001b<"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseFalco(body, time.Now())
		if err != nil {
			checkRefused(t, err, "falco alert: ")
			return
		}
		if strings.TrimSpace(a.Rule) == "" {
			t.Errorf("Rule = %q, want non-empty", a.Rule)
		}
		if a.Priority < alert.Debug || a.Priority > alert.Emergency {
			t.Errorf("Priority = %v, want a known priority", a.Priority)
		}
		if a.Time.IsZero() || a.Time.Location() != time.UTC {
			t.Errorf("Time = %v, want a non-zero UTC time", a.Time)
		}
		if !strings.HasPrefix(a.Digest, "sha256:") || len(a.Digest) != len("sha256:")+64 {
			t.Errorf("Digest = %q, want sha256: and 64 hex digits", a.Digest)
		}
		if a.Source != "falco" || a.EventSource == "" {
			t.Errorf("Source, EventSource = %q, %q, want falco and non-empty", a.Source, a.EventSource)
		}
		checkAccepted(t, a)
	})
}
