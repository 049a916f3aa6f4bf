package intake

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// Trivy report samples in samplesDir, from aquasecurity/trivy:
// integration/testdata/*.json.golden, Apache-2.0.
const (
	alpineSample = "trivy_integration-testdata_alpine-39-high-critical.json.golden"
	debianSample = "trivy_integration-testdata_debian-buster.json.golden"
)

// readSample reads one file of samplesDir.
func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	body, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// severityCounts returns a full Counts or Fixable map: every severity,
// zeros included, with the given counts by severity.
func severityCounts(kv ...any) map[string]int {
	m := map[string]int{"unknown": 0, "low": 0, "medium": 0, "high": 0, "critical": 0}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(int)
	}
	return m
}

func TestParseTrivySamples(t *testing.T) {
	receivedAt := time.Date(2024, 2, 3, 4, 5, 6, 7, time.FixedZone("CET", 3600))
	created := time.Date(2021, 8, 25, 12, 20, 30, 5, time.UTC)
	musl := alert.Vulnerability{ID: "CVE-2019-14697", Package: "musl", InstalledVersion: "1.1.20-r4",
		FixedVersion: "1.1.20-r5", Severity: "critical"}
	muslUtils := musl
	muslUtils.Package = "musl-utils"
	tests := []struct {
		file string
		want alert.Alert
	}{
		{alpineSample, alert.Alert{
			Source:         "trivy",
			EventSource:    "container_image",
			DetectorID:     "017b7d41-e09f-7000-80ea-000000000001",
			IdempotencyKey: "trivy/017b7d41-e09f-7000-80ea-000000000001",
			Rule:           "vulnerable-image",
			Priority:       alert.Critical,
			Time:           created,
			Output:         "testdata/fixtures/images/alpine-39.tar.gz: 2 vulnerabilities (critical 2), 2 fixable",
			Fields: map[string]any{
				"image.id":                     "sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1",
				"image.name":                   "testdata/fixtures/images/alpine-39.tar.gz",
				"image.reference":              "ghcr.io/aquasecurity/trivy-test-images:alpine-39",
				"os.family":                    "alpine",
				"os.name":                      "3.9.4",
				"os.eosl":                      true,
				"vulnerabilities.total":        int64(2),
				"vulnerabilities.fixable":      int64(2),
				"vulnerabilities.max_severity": "critical",
			},
			Target: alert.Target{
				Kind:     alert.KindImage,
				Image:    "testdata/fixtures/images/alpine-39.tar.gz",
				ImageID:  "sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1",
				RepoTags: []string{"ghcr.io/aquasecurity/trivy-test-images:alpine-39"},
			},
			// From sha256sum of the file.
			Digest:     "sha256:36f1abc789afe452464a9bb14a20afc292d570f7c3ef0107f4ac226f5f3052b0",
			ReceivedAt: receivedAt.UTC(),
			Vulnerabilities: &alert.Vulnerabilities{
				Counts:  severityCounts("critical", 2),
				Fixable: severityCounts("critical", 2),
				Top:     []alert.Vulnerability{musl, muslUtils},
			},
		}},
		{debianSample, alert.Alert{
			Source:         "trivy",
			EventSource:    "container_image",
			DetectorID:     "017b7d41-e09f-7000-80ea-000000000001",
			IdempotencyKey: "trivy/017b7d41-e09f-7000-80ea-000000000001",
			Rule:           "vulnerable-image",
			Priority:       alert.Critical,
			Time:           created,
			Output:         "testdata/fixtures/images/debian-buster.tar.gz: 2 vulnerabilities (critical 1, low 1), 1 fixable",
			Fields: map[string]any{
				"image.id":                     "sha256:c2c03a296d2329a4f3ab72a7bf38b78a8a80108204d326b0139d6af700e152d1",
				"image.name":                   "testdata/fixtures/images/debian-buster.tar.gz",
				"image.reference":              "ghcr.io/aquasecurity/trivy-test-images:debian-buster",
				"os.family":                    "debian",
				"os.name":                      "10.1",
				"vulnerabilities.total":        int64(2),
				"vulnerabilities.fixable":      int64(1),
				"vulnerabilities.max_severity": "critical",
			},
			Target: alert.Target{
				Kind:     alert.KindImage,
				Image:    "testdata/fixtures/images/debian-buster.tar.gz",
				ImageID:  "sha256:c2c03a296d2329a4f3ab72a7bf38b78a8a80108204d326b0139d6af700e152d1",
				RepoTags: []string{"ghcr.io/aquasecurity/trivy-test-images:debian-buster"},
			},
			Digest:     "sha256:efc1ae7dcec81dbfd19ddb7fc2cc2c43e2ea81fac4438f382615cb6961e46db4",
			ReceivedAt: receivedAt.UTC(),
			Vulnerabilities: &alert.Vulnerabilities{
				Counts:  severityCounts("critical", 1, "low", 1),
				Fixable: severityCounts("critical", 1),
				Top: []alert.Vulnerability{
					{ID: "CVE-2019-18224", Package: "libidn2-0", InstalledVersion: "2.0.5-1", FixedVersion: "2.0.5-1+deb10u1",
						Severity: "critical", Title: "libidn2: heap-based buffer overflow in idn2_to_ascii_4i in lib/lookup.c"},
					{ID: "CVE-2019-18276", Package: "bash", InstalledVersion: "5.0-4", Severity: "low",
						Title: "bash: when effective UID is not equal to its real UID the saved UID is not dropped"},
				},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseTrivy(readSample(t, tt.file), receivedAt)
			if err != nil {
				t.Fatalf("ParseTrivy: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseTrivy:\ngot  %+v\nwant %+v", got, tt.want)
			}
			if key, err := got.Target.UnitKey(); err != nil || key != "image-"+tt.want.Target.ImageID[7:19] {
				t.Errorf("UnitKey = %q, %v", key, err)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			var back alert.Alert
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("json.Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(back.Vulnerabilities, got.Vulnerabilities) || !reflect.DeepEqual(back.Target, got.Target) {
				t.Errorf("JSON round trip changed the alert:\ngot  %+v\nwant %+v", back, got)
			}
		})
	}
}
