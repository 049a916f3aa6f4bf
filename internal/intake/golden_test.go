package intake

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// update rewrites the golden files from what the parsers return now.
var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden.json")

// goldenDir holds what every sample normalises to.
const goldenDir = "testdata/golden"

// goldenReceivedAt is the receive time every golden alert carries.
var goldenReceivedAt = time.Date(2024, 2, 3, 4, 5, 6, 7, time.UTC)

// notAlerts are the sample files that are no alert: Slack's and Docker's
// payloads, and Alertmanager's schema, which is annotated text (a body
// written to it is testdata/alertmanager-v4_schema-example.json).
var notAlerts = []string{
	"README.md",
	"alertmanager_docs-configuration_webhook-payload-schema.txt",
	"docker-cli_system-testdata_docker-events-json.golden.jsonl",
	"java-slack-sdk_bolt-ktor-KtorAppActionTest_block_actions_button.json",
	"moby_api-docs-v1.24_container-inspect-example.json",
	"slack_signature_test_vectors.json",
}

// goldenEntry is one normalised alert and its unit key ("" for none).
type goldenEntry struct {
	Alert   alert.Alert `json:"alert"`
	UnitKey string      `json:"unit_key"`
}

// sampleParser returns the parser for an alert file by its name.
func sampleParser(name string) (func([]byte) ([]alert.Alert, error), bool) {
	one := func(p func([]byte, time.Time) (alert.Alert, error)) func([]byte) ([]alert.Alert, error) {
		return func(b []byte) ([]alert.Alert, error) {
			a, err := p(b, goldenReceivedAt)
			return []alert.Alert{a}, err
		}
	}
	switch {
	case strings.HasPrefix(name, "falco"):
		return one(ParseFalco), true
	case strings.HasPrefix(name, "trivy"):
		return one(ParseTrivy), true
	case strings.HasPrefix(name, "prometheus-msteams"), strings.HasPrefix(name, "alertmanager"):
		return func(b []byte) ([]alert.Alert, error) {
			return ParseAlertmanager(b, goldenReceivedAt, DefaultLabelMap())
		}, true
	case strings.HasPrefix(name, "generic"):
		return one(ParseGeneric), true
	}
	return nil, false
}

// goldenInputs lists every alert payload: the samples, the variants in
// testdata and the schema's examples, each named as its golden file is.
func goldenInputs(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	var files []string
	for _, dir := range []string{samplesDir, "testdata"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() && (dir == samplesDir || strings.HasSuffix(e.Name(), ".json")) {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	for _, file := range files {
		name := filepath.Base(file)
		if slices.Contains(notAlerts, name) {
			continue
		}
		if _, ok := sampleParser(name); !ok {
			t.Errorf("sample %s is neither a known alert nor listed in notAlerts", name)
			continue
		}
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(name, ".jsonl") {
			out[name] = body
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		for n := 1; sc.Scan(); n++ {
			out[name+"."+strconv.Itoa(n)] = bytes.Clone(sc.Bytes())
		}
	}
	var schema schemaDoc
	if err := json.Unmarshal(AlertSchema, &schema); err != nil {
		t.Fatal(err)
	}
	for i, ex := range schema.Examples {
		out["generic-schema-example-"+strconv.Itoa(i+1)+".json"] = ex
	}
	return out
}

// TestGoldens parses every alert sample and compares the normalised
// alerts, with their unit keys, with testdata/golden; -update rewrites
// the files.
func TestGoldens(t *testing.T) {
	inputs := goldenInputs(t)
	if len(inputs) < 20 {
		t.Fatalf("found %d alert payloads, want at least 20", len(inputs))
	}
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range inputs {
		t.Run(name, func(t *testing.T) {
			parse, _ := sampleParser(name)
			as, err := parse(body)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			var entries []goldenEntry
			for _, a := range as {
				key, err := a.Target.UnitKey()
				if err != nil && a.Target.Kind != "" {
					t.Errorf("target %+v has a kind but no unit key: %v", a.Target, err)
				}
				entries = append(entries, goldenEntry{Alert: a, UnitKey: key})
				checkBounded(t, a)
			}
			// Alertmanager's parser returns a list; the others one alert.
			single := len(entries) == 1 && !strings.HasPrefix(name, "prometheus-msteams") && !strings.HasPrefix(name, "alertmanager")
			var v any = entries
			if single {
				v = entries[0]
			}
			got, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			file := filepath.Join(goldenDir, name+".golden.json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (run with -update, then read the diff):\ngot\n%s", file, got)
			}
			// What history stores must read back as the same alerts.
			var back []goldenEntry
			if single {
				var one goldenEntry
				err = json.Unmarshal(want, &one)
				back = []goldenEntry{one}
			} else {
				err = json.Unmarshal(want, &back)
			}
			if err != nil || len(back) != len(entries) {
				t.Fatalf("golden does not decode into %d alerts: %v", len(entries), err)
			}
			for i := range back {
				if !reflect.DeepEqual(roundTrip(t, entries[i].Alert), back[i].Alert) {
					t.Errorf("alert %d does not survive JSON:\ngot  %+v\nwant %+v", i, back[i].Alert, entries[i].Alert)
				}
			}
		})
	}
	if *update {
		return
	}
	golden, err := filepath.Glob(filepath.Join(goldenDir, "*.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range golden {
		if _, ok := inputs[strings.TrimSuffix(filepath.Base(file), ".golden.json")]; !ok {
			t.Errorf("golden file %s has no sample", file)
		}
	}
}

// roundTrip returns a through JSON, as Temporal history hands it back.
func roundTrip(t *testing.T, a alert.Alert) alert.Alert {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back alert.Alert
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}
