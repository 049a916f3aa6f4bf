package intake

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// testImageID is a well-formed image ID for hand-written reports.
const testImageID = "sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1"

// trivyMinimal is the smallest valid report, unclosed; tests append to it.
const trivyMinimal = `{"SchemaVersion":2,"ArtifactName":"alpine:3.9","ArtifactType":"container_image","Metadata":{"ImageID":"` + testImageID + `"}`

func TestParseTrivyErrors(t *testing.T) {
	md := `"Metadata":{"ImageID":"` + testImageID + `"}`
	tests := []struct {
		name string
		body string
		want string
	}{
		{"empty body", ``, `trivy report: empty body`},
		{"only whitespace", " \n\t", `trivy report: empty body`},
		{"unterminated object", `{`, `trivy report: invalid JSON: unexpected EOF`},
		{"syntax error", `{"SchemaVersion":}`, `trivy report: invalid JSON at offset 18: invalid character '}' looking for beginning of value`},
		{"array", `[]`, `trivy report: invalid JSON: want an object, got array`},
		{"string", `"report"`, `trivy report: invalid JSON: want an object, got string`},
		{"null", `null`, `trivy report: invalid JSON: want an object, got null`},
		{"number", ` 2`, `trivy report: invalid JSON: want an object, got number`},
		{"trailing garbage", trivyMinimal + `} trailing`, fmt.Sprintf(`trivy report: invalid JSON at offset %d: data after the object`, len(trivyMinimal)+2)},
		{"second object", `{}{}`, `trivy report: invalid JSON at offset 2: data after the object`},
		{"missing SchemaVersion", `{"ArtifactName":"a","ArtifactType":"container_image",` + md + `}`, `trivy report: missing SchemaVersion (want 2)`},
		{"SchemaVersion 1", `{"SchemaVersion":1}`, `trivy report: unsupported SchemaVersion 1 (want 2)`},
		{"SchemaVersion 3", `{"SchemaVersion":3,"ArtifactType":"container_image"}`, `trivy report: unsupported SchemaVersion 3 (want 2)`},
		{"SchemaVersion 0", `{"SchemaVersion":0}`, `trivy report: unsupported SchemaVersion 0 (want 2)`},
		{"SchemaVersion a string", `{"SchemaVersion":"2"}`, `trivy report: SchemaVersion: want an integer, got string`},
		{"SchemaVersion a fraction", `{"SchemaVersion":2.5}`, `trivy report: SchemaVersion: want an integer, got number 2.5`},
		{"SchemaVersion overflows", `{"SchemaVersion":1e400}`, `trivy report: SchemaVersion: want an integer, got number 1e400`},
		{"filesystem", `{"SchemaVersion":2,"ArtifactName":".","ArtifactType":"filesystem"}`,
			`trivy report: artifact type "filesystem" is not a container image`},
		{"repository", `{"SchemaVersion":2,"ArtifactType":"repository",` + md + `}`,
			`trivy report: artifact type "repository" is not a container image`},
		{"missing everything", `{"SchemaVersion":2}`, `trivy report: missing ArtifactName, ArtifactType, Metadata.ImageID`},
		{"missing ArtifactName", `{"SchemaVersion":2,"ArtifactName":" ","ArtifactType":"container_image",` + md + `}`,
			`trivy report: missing ArtifactName`},
		{"missing ArtifactType", `{"SchemaVersion":2,"ArtifactName":"a",` + md + `}`, `trivy report: missing ArtifactType`},
		{"missing Metadata.ImageID", `{"SchemaVersion":2,"ArtifactName":"a","ArtifactType":"container_image","Metadata":{"RepoTags":["a:1"]}}`,
			`trivy report: missing Metadata.ImageID`},
		{"null Metadata", `{"SchemaVersion":2,"ArtifactName":"a","ArtifactType":"container_image","Metadata":null}`,
			`trivy report: missing Metadata.ImageID`},
		{"short ImageID", `{"SchemaVersion":2,"ArtifactName":"a","ArtifactType":"container_image","Metadata":{"ImageID":"sha256:055936d39205"}}`,
			`trivy report: invalid Metadata.ImageID "sha256:055936d39205" (want sha256: and 64 hex digits)`},
		{"ImageID without algorithm", `{"SchemaVersion":2,"ArtifactName":"a","ArtifactType":"container_image","Metadata":{"ImageID":"` + testImageID[7:] + `"}}`,
			`trivy report: invalid Metadata.ImageID "` + testImageID[7:] + `" (want sha256: and 64 hex digits)`},
		{"Metadata an array", `{"SchemaVersion":2,"Metadata":[]}`, `trivy report: Metadata: want an object, got array`},
		{"ImageID a number", `{"SchemaVersion":2,"Metadata":{"ImageID":55}}`, `trivy report: Metadata.ImageID: want a string, got number`},
		{"RepoTags a string", trivyMinimal[:len(trivyMinimal)-1] + `,"RepoTags":"a:1"}}`, `trivy report: Metadata.RepoTags: want an array, got string`},
		{"RepoTag a number", trivyMinimal[:len(trivyMinimal)-1] + `,"RepoTags":[1]}}`, `trivy report: Metadata.RepoTags: want a string, got number`},
		{"OS a string", trivyMinimal[:len(trivyMinimal)-1] + `,"OS":"alpine"}}`, `trivy report: Metadata.OS: want an object, got string`},
		{"Results an object", trivyMinimal + `,"Results":{}}`, `trivy report: Results: want an array, got object`},
		{"Vulnerabilities a string", trivyMinimal + `,"Results":[{"Vulnerabilities":"none"}]}`,
			`trivy report: Results.Vulnerabilities: want an array, got string`},
		{"Severity a number", trivyMinimal + `,"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-1","Severity":4}]}]}`,
			`trivy report: Results.Vulnerabilities.Severity: want a string, got number`},
		{"bad CreatedAt", trivyMinimal + `,"CreatedAt":"yesterday"}`, `trivy report: invalid CreatedAt "yesterday" (want RFC 3339)`},
		{"CreatedAt without zone", trivyMinimal + `,"CreatedAt":"2021-08-25T12:20:30"}`, `trivy report: invalid CreatedAt "2021-08-25T12:20:30" (want RFC 3339)`},
		{"CreatedAt a number", trivyMinimal + `,"CreatedAt":1629894030}`, `trivy report: CreatedAt: want a string, got number`},
		{"CreatedAt year 10000 in UTC", trivyMinimal + `,"CreatedAt":"9999-12-31T23:59:59-01:00"}`,
			`trivy report: CreatedAt "9999-12-31T23:59:59-01:00" out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTrivy([]byte(tt.body), time.Now())
			if err == nil {
				t.Fatalf("ParseTrivy(%#q) = %+v, want error %q", tt.body, got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseTrivy(%#q) error:\ngot  %q\nwant %q", tt.body, err, tt.want)
			}
			if !reflect.DeepEqual(got, alert.Alert{}) {
				t.Errorf("ParseTrivy(%#q) = %+v with an error, want the zero Alert", tt.body, got)
			}
		})
	}
}

// finding writes one Trivy vulnerability as JSON.
func finding(id, pkg, severity, fixed string) string {
	return fmt.Sprintf(`{"VulnerabilityID":%q,"PkgName":%q,"InstalledVersion":"1.0","FixedVersion":%q,"Severity":%q}`,
		id, pkg, fixed, severity)
}

func TestParseTrivyFindings(t *testing.T) {
	tests := []struct {
		name     string
		results  string // JSON value of Results
		counts   map[string]int
		fixable  map[string]int
		top      []string // "severity ID package"
		priority alert.Priority
		output   string
	}{
		{
			name:     "no Results",
			results:  `null`,
			counts:   severityCounts(),
			fixable:  severityCounts(),
			priority: alert.Informational,
			output:   "alpine:3.9: no vulnerabilities",
		},
		{
			name:     "Results without Vulnerabilities, and nulls",
			results:  `[{"Target":"alpine"},null,{"Target":"app","Vulnerabilities":null},{"Vulnerabilities":[null]}]`,
			counts:   severityCounts(),
			fixable:  severityCounts(),
			priority: alert.Informational,
			output:   "alpine:3.9: no vulnerabilities",
		},
		{
			name: "same ID and package in two Results counts once",
			results: `[{"Vulnerabilities":[` + finding("CVE-2", "openssl", "HIGH", "3.0.1") + `]},` +
				`{"Vulnerabilities":[` + finding("CVE-2", "openssl", "HIGH", "3.0.1") + `,` + finding("CVE-2", "libssl3", "HIGH", "") + `]}]`,
			counts:   severityCounts("high", 2),
			fixable:  severityCounts("high", 1),
			top:      []string{"high CVE-2 libssl3", "high CVE-2 openssl"},
			priority: alert.Error,
			output:   "alpine:3.9: 2 vulnerabilities (high 2), 1 fixable",
		},
		{
			name: "severities normalised, unknown ones count as unknown",
			results: `[{"Vulnerabilities":[` + finding("CVE-1", "a", "Medium", "") + `,` + finding("CVE-2", "b", " low ", "2") + `,` +
				finding("CVE-3", "c", "NEGLIGIBLE", "") + `,` + finding("CVE-4", "d", "", "") + `,` + finding("CVE-5", "e", "UNKNOWN", "5") + `]}]`,
			counts:   severityCounts("medium", 1, "low", 1, "unknown", 3),
			fixable:  severityCounts("low", 1, "unknown", 1),
			top:      []string{"medium CVE-1 a", "low CVE-2 b", "unknown CVE-3 c", "unknown CVE-4 d", "unknown CVE-5 e"},
			priority: alert.Warning,
			output:   "alpine:3.9: 5 vulnerabilities (medium 1, low 1, unknown 3), 2 fixable",
		},
		{
			name:     "one low finding",
			results:  `[{"Vulnerabilities":[` + finding("CVE-9", "zlib", "LOW", "") + `]}]`,
			counts:   severityCounts("low", 1),
			fixable:  severityCounts(),
			top:      []string{"low CVE-9 zlib"},
			priority: alert.Notice,
			output:   "alpine:3.9: 1 vulnerability (low 1), 0 fixable",
		},
		{
			name:     "only unknown",
			results:  `[{"Vulnerabilities":[` + finding("GHSA-x", "left-pad", "UNKNOWN", "") + `]}]`,
			counts:   severityCounts("unknown", 1),
			fixable:  severityCounts(),
			top:      []string{"unknown GHSA-x left-pad"},
			priority: alert.Informational,
			output:   "alpine:3.9: 1 vulnerability (unknown 1), 0 fixable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseTrivy([]byte(trivyMinimal+`,"Results":`+tt.results+`}`), time.Now())
			if err != nil {
				t.Fatalf("ParseTrivy: %v", err)
			}
			v := a.Vulnerabilities
			if !reflect.DeepEqual(v.Counts, tt.counts) || !reflect.DeepEqual(v.Fixable, tt.fixable) {
				t.Errorf("Counts, Fixable = %v, %v; want %v, %v", v.Counts, v.Fixable, tt.counts, tt.fixable)
			}
			var top []string
			for _, f := range v.Top {
				top = append(top, f.Severity+" "+f.ID+" "+f.Package)
			}
			if !reflect.DeepEqual(top, tt.top) {
				t.Errorf("Top = %q, want %q", top, tt.top)
			}
			if a.Priority != tt.priority {
				t.Errorf("Priority = %v, want %v", a.Priority, tt.priority)
			}
			if a.Output != tt.output {
				t.Errorf("Output = %q, want %q", a.Output, tt.output)
			}
		})
	}
}

func TestParseTrivyTopBounded(t *testing.T) {
	var list []string
	for i := range 30 {
		list = append(list, finding(fmt.Sprintf("CVE-2024-%04d", 30-i), "pkg", "MEDIUM", ""))
	}
	list = append(list, finding("CVE-2000-0001", "old", "CRITICAL", "1"), finding("CVE-2030-0001", "new", "HIGH", ""))
	a, err := ParseTrivy([]byte(trivyMinimal+`,"Results":[{"Vulnerabilities":[`+strings.Join(list, ",")+`]}]}`), time.Now())
	if err != nil {
		t.Fatalf("ParseTrivy: %v", err)
	}
	top := a.Vulnerabilities.Top
	if len(top) != alert.MaxTopVulnerabilities {
		t.Fatalf("len(Top) = %d, want %d", len(top), alert.MaxTopVulnerabilities)
	}
	for i, want := range map[int]string{0: "CVE-2000-0001", 1: "CVE-2030-0001", 2: "CVE-2024-0001", 19: "CVE-2024-0018"} {
		if top[i].ID != want {
			t.Errorf("Top[%d].ID = %s, want %s", i, top[i].ID, want)
		}
	}
	if got, want := a.Vulnerabilities.Counts["medium"], 30; got != want {
		t.Errorf("Counts[medium] = %d, want %d (counts are not bounded)", got, want)
	}
	if got, want := a.Fields["vulnerabilities.total"], int64(32); got != want {
		t.Errorf("Fields[vulnerabilities.total] = %#v, want %#v", got, want)
	}
}

func TestParseTrivyTime(t *testing.T) {
	receivedAt := time.Date(2024, 2, 3, 4, 5, 6, 7, time.FixedZone("CET", 3600))
	tests := []struct {
		name      string
		createdAt string // JSON member, with its leading comma
		want      time.Time
	}{
		{"CreatedAt in UTC", `,"CreatedAt":"2021-08-25T12:20:30.000000005Z"`, time.Date(2021, 8, 25, 12, 20, 30, 5, time.UTC)},
		{"CreatedAt with offset", `,"CreatedAt":"2021-08-25T14:20:30+02:00"`, time.Date(2021, 8, 25, 12, 20, 30, 0, time.UTC)},
		{"no CreatedAt", ``, receivedAt.UTC()},
		{"empty CreatedAt", `,"CreatedAt":""`, receivedAt.UTC()},
		{"null CreatedAt", `,"CreatedAt":null`, receivedAt.UTC()},
		{"zero CreatedAt", `,"CreatedAt":"0001-01-01T00:00:00Z"`, receivedAt.UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseTrivy([]byte(trivyMinimal+tt.createdAt+`}`), receivedAt)
			if err != nil {
				t.Fatalf("ParseTrivy: %v", err)
			}
			if got := a.Time; !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("Time = %v, want %v", got, tt.want)
			}
			if a.ReceivedAt != receivedAt.UTC() {
				t.Errorf("ReceivedAt = %v, want %v", a.ReceivedAt, receivedAt.UTC())
			}
		})
	}
}

func TestParseTrivyTarget(t *testing.T) {
	body := `{"SchemaVersion":2,"ArtifactName":"nginx:1.27","ArtifactType":"container_image","Metadata":{"ImageID":"` + testImageID +
		`","RepoTags":[],"RepoDigests":["nginx@` + testImageID + `"],"OS":{"Family":"debian"}}}`
	a, err := ParseTrivy([]byte(body), time.Now())
	if err != nil {
		t.Fatalf("ParseTrivy: %v", err)
	}
	want := alert.Target{Kind: alert.KindImage, Image: "nginx:1.27", ImageID: testImageID, RepoDigests: []string{"nginx@" + testImageID}}
	if !reflect.DeepEqual(a.Target, want) {
		t.Errorf("Target:\ngot  %+v\nwant %+v", a.Target, want)
	}
	wantFields := map[string]any{"image.id": testImageID, "image.name": "nginx:1.27", "os.family": "debian",
		"vulnerabilities.total": int64(0), "vulnerabilities.fixable": int64(0)}
	if !reflect.DeepEqual(a.Fields, wantFields) {
		t.Errorf("Fields:\ngot  %v\nwant %v", a.Fields, wantFields)
	}
}

func FuzzParseTrivy(f *testing.F) {
	for _, name := range []string{alpineSample, debianSample} {
		f.Add(readSample(f, name))
	}
	for _, s := range []string{``, `{`, `[]`, `{"SchemaVersion":2}`, trivyMinimal + `}`, trivyMinimal + `,"CreatedAt":"2021-08-25T14:20:30+02:00"}`,
		trivyMinimal + `,"Results":[{"Vulnerabilities":[null,` + finding("CVE-1", "a", "weird", "") + `]}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseTrivy(body, time.Now())
		if err != nil {
			checkRefused(t, err, "trivy report: ")
			return
		}
		if a.Target.ImageID == "" || a.Target.Kind != alert.KindImage {
			t.Errorf("Target = %+v, want an image with an ID", a.Target)
		}
		if _, err := a.Target.UnitKey(); err != nil {
			t.Errorf("UnitKey: %v", err)
		}
		if a.Time.IsZero() || a.Time.Location() != time.UTC {
			t.Errorf("Time = %v, want a non-zero UTC time", a.Time)
		}
		v := a.Vulnerabilities
		if v == nil || len(v.Top) > alert.MaxTopVulnerabilities {
			t.Fatalf("Vulnerabilities = %+v, want a summary with at most %d top findings", v, alert.MaxTopVulnerabilities)
		}
		for _, sev := range alert.Severities {
			if v.Fixable[sev] > v.Counts[sev] {
				t.Errorf("Fixable[%s] = %d > Counts[%s] = %d", sev, v.Fixable[sev], sev, v.Counts[sev])
			}
		}
		checkAccepted(t, a)
	})
}
