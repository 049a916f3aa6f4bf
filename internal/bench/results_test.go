package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGoals(t *testing.T) {
	cases := []struct {
		name      string
		r         Result
		wantRatio float64
		wantMet   *bool
	}{
		{"within", compared("p50", "ms", 120, 100, KindFloor, 10, atMost(1.5, "")), 1.2, ptr(true)},
		{"over", compared("p50", "ms", 160, 100, KindFloor, 10, atMost(1.5, "")), 1.6, ptr(false)},
		{"faster than peer", compared("p50", "ms", 50, 100, KindPeer, 10, below(1, "")), 0.5, ptr(true)},
		{"throughput", compared("export", "MiB/s", 85, 100, KindFloor, 3, atLeast(0.9, "")), 0.85, ptr(false)},
		{"no goal", compared("p95", "ms", 150, 100, KindFloor, 10, goal{}), 1.5, nil},
	}
	for _, tc := range cases {
		if tc.r.Ratio == nil || *tc.r.Ratio != tc.wantRatio {
			t.Errorf("%s: ratio %v, want %v", tc.name, tc.r.Ratio, tc.wantRatio)
		}
		if (tc.r.Met == nil) != (tc.wantMet == nil) || (tc.r.Met != nil && *tc.r.Met != *tc.wantMet) {
			t.Errorf("%s: met %v, want %v", tc.name, tc.r.Met, tc.wantMet)
		}
	}
	if r := absolute("rate", "alerts/s", 4000, 1, atLeast(5000, "")); *r.Met {
		t.Error("4000/s met a 5000/s goal")
	}
	if r := info("rss", "MiB", 150, 1); r.Met != nil || r.Baseline != nil {
		t.Errorf("info result has a goal or baseline: %+v", r)
	}
}

func TestWriteJSONAndTable(t *testing.T) {
	rs := []Result{
		compared("alert → contained p50", "ms", 150, 100, KindFloor, 50, atMost(1.5, "≤ 1.5× floor")),
		info("footprint: RSS idle", "MiB", 154.3, 1),
	}
	path := filepath.Join(t.TempDir(), "bench", "results.json")
	if err := WriteJSON(path, rs); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"name", "unit", "quell", "baseline", "baseline_kind", "ratio", "samples", "goal", "met"} {
		if _, ok := got[0][key]; !ok {
			t.Errorf("results.json lacks %q: %s", key, raw)
		}
	}
	if got[1]["baseline"] != nil || got[1]["met"] != nil {
		t.Errorf("info figure = %v, want null baseline and met", got[1])
	}
	var table bytes.Buffer
	if err := PrintTable(&table, rs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"figure", "baseline", "150.0 ms", "100.0 ms (floor)", "1.50×", "yes", "154.3 MiB"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func ptr(b bool) *bool { return &b }
