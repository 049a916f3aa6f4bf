package intake

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// samplesDir holds payloads copied from public repositories; its README.md
// names each file's origin and licence.
const samplesDir = "../../../shared/samples"

// payload is one alert body read from a sample file.
type payload struct {
	name string // file name, with ":line" for .jsonl files
	body []byte
}

// loadPayloads reads every Falco and Falcosidekick sample, and the
// variants in testdata/. A .json file is one body, byte for byte; each line
// of a .jsonl file is one body.
func loadPayloads(tb testing.TB) []payload {
	tb.Helper()
	var files []string
	for _, pattern := range []string{
		filepath.Join(samplesDir, "falco*.json"),
		filepath.Join(samplesDir, "falco*.jsonl"),
		filepath.Join("testdata", "falco*.json"),
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, m...)
	}
	var out []payload
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		name := filepath.Base(file)
		if filepath.Ext(file) == ".json" {
			out = append(out, payload{name, body})
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		for n := 1; sc.Scan(); n++ {
			out = append(out, payload{name + ":" + strconv.Itoa(n), bytes.Clone(sc.Bytes())})
		}
	}
	if len(out) < 14 {
		tb.Fatalf("found %d sample payloads under %s and testdata, want at least 14", len(out), samplesDir)
	}
	return out
}

// terminalShell is what falco-website_docs-outputs-channels_terminal-shell.json
// normalises to.
func terminalShell() alert.Alert {
	return alert.Alert{
		Source:      "falco",
		EventSource: "syscall",
		Rule:        "Terminal shell in container",
		Priority:    alert.Critical,
		Time:        time.Date(2023, 5, 25, 13, 44, 5, 478445995, time.UTC),
		Output:      "13:44:05.478445995: Critical A shell was spawned in a container with an attached terminal (user=root user_loginuid=-1 k8s.ns=default k8s.pod=kubecon container=ee97d9c4186f shell=sh parent=runc cmdline=sh -c clear; (bash || ash || sh) terminal=34816 container_id=ee97d9c4186f image=docker.io/library/alpine)",
		Tags:        []string{"container", "mitre_execution", "shell"},
		Hostname:    "falco-xczjd",
		Fields: map[string]any{
			"container.id":               "ee97d9c4186f",
			"container.image.repository": "docker.io/library/alpine",
			"evt.time":                   int64(1685022245478445995),
			"k8s.ns.name":                "default",
			"k8s.pod.name":               "kubecon",
			"proc.cmdline":               "sh -c clear; (bash || ash || sh)",
			"proc.name":                  "sh",
			"proc.pname":                 "runc",
			"proc.tty":                   int64(34816),
			"user.loginuid":              int64(-1),
			"user.name":                  "root",
		},
		// k8s.ns.name and k8s.pod.name are set: the alert names the pod.
		Target: alert.Target{
			Kind:        alert.KindKubernetes,
			Host:        "falco-xczjd",
			ContainerID: "ee97d9c4186f",
			Image:       "docker.io/library/alpine",
			Namespace:   "default",
			Pod:         "kubecon",
		},
	}
}

// catWrite is what one line of
// falcosecurity-testing_tests-data-outputs_single_rule_with_cat_write.jsonl
// normalises to; the lines differ only in their time.
func catWrite(nsec int, evtTime int64) alert.Alert {
	t := time.Date(2016, 8, 4, 16, 17, 57, nsec, time.UTC)
	return alert.Alert{
		Source:      "falco",
		EventSource: "syscall",
		Rule:        "open_from_cat",
		Priority:    alert.Warning,
		Time:        t,
		Output:      t.Format("2006-01-02T15:04:05.000000000") + "+0000: Warning An open was seen (command=cat /dev/null)",
		Tags:        []string{"filesystem", "process", "testing"},
		Hostname:    "test-falco-hostname",
		Fields: map[string]any{
			"evt.time.iso8601": evtTime,
			"proc.cmdline":     "cat /dev/null",
		},
	}
}

// sampleWants holds every sample payload's normalised form, without
// Digest and ReceivedAt, which the test fills in.
func sampleWants() map[string]alert.Alert {
	withUUID := terminalShell()
	withUUID.DetectorID = "3b2a4f6e-0c1d-4e5f-8a9b-7c6d5e4f3a21"
	withUUID.IdempotencyKey = "falco/3b2a4f6e-0c1d-4e5f-8a9b-7c6d5e4f3a21"
	return map[string]alert.Alert{
		"falco-website_docs-outputs-channels_terminal-shell.json": terminalShell(),
		// testdata: the sample above with a uuid added (see testdata/README.md).
		"falcosidekick-uuid_terminal-shell.json": withUUID,
		"falco-website_blog-response-engine-kubeless_terminal-shell-nulls.json": {
			Source:      "falco",
			EventSource: "syscall", // the payload has no source
			Rule:        "Terminal shell in container",
			Priority:    alert.Notice,
			Time:        time.Date(2021, 1, 14, 23, 39, 44, 834631763, time.UTC),
			Output:      "23:39:44.834631763: Notice A shell was spawned in a container with an attached terminal (user=root user_loginuid=-1 k8s.ns=default k8s.pod=alpine container=5892b41bcf46 shell=sh parent=<NA> cmdline=sh terminal=34817 container_id=5892b41bcf46 image=<NA>) k8s.ns=default k8s.pod=alpine container=5892b41bcf46",
			Fields: map[string]any{ // container.image.repository and proc.pname are null
				"container.id":  "5892b41bcf46",
				"evt.time":      int64(1610667584834631763),
				"k8s.ns.name":   "default",
				"k8s.pod.name":  "alpine",
				"proc.cmdline":  "sh",
				"proc.name":     "sh",
				"proc.tty":      int64(34817),
				"user.loginuid": int64(-1),
				"user.name":     "root",
			},
			Target: alert.Target{Kind: alert.KindKubernetes, ContainerID: "5892b41bcf46", Namespace: "default", Pod: "alpine"},
		},
		"falco-website_blog-k8saudit-eks_alerts.jsonl:1": {
			Source:      "falco",
			EventSource: "k8s_audit",
			Rule:        "K8s Serviceaccount Created",
			Priority:    alert.Informational,
			Time:        time.Date(2023, 5, 10, 14, 9, 17, 699479000, time.UTC),
			Output:      "14:09:17.699479000: Informational K8s Serviceaccount Created (user=system:node:ip-192-168-34-135.ec2.internal serviceaccount=default ns=default resource=serviceaccounts resp=201 decision=allow reason=)",
			Tags:        []string{"k8s"},
			Hostname:    "falco-k8saudit-eks-96d7f6f99-vwjgc",
			Fields: map[string]any{
				"evt.time":            int64(1683727757699479000),
				"ka.auth.decision":    "allow",
				"ka.auth.reason":      "",
				"ka.response.code":    "201",
				"ka.target.name":      "default",
				"ka.target.namespace": "default",
				"ka.target.resource":  "serviceaccounts",
				"ka.user.name":        "system:node:ip-192-168-34-135.ec2.internal",
			},
			// Not a pod: the object is recorded, and no unit named.
			Target: alert.Target{Namespace: "default", Resource: "serviceaccounts", Object: "default"},
		},
		"falco-website_blog-k8saudit-eks_alerts.jsonl:2": {
			Source:      "falco",
			EventSource: "k8s_audit",
			Rule:        "Attach/Exec Pod",
			Priority:    alert.Notice,
			Time:        time.Date(2023, 5, 10, 14, 9, 24, 46826000, time.UTC),
			Output:      "14:09:24.046826000: Notice Attach/Exec to pod (user=kubernetes-admin pod=kubecon resource=pods ns=default action=exec command=sh)",
			Tags:        []string{"k8s"},
			Hostname:    "falco-k8saudit-eks-96d7f6f99-vwjgc",
			Fields: map[string]any{
				"evt.time":              int64(1683727764046826000),
				"ka.target.name":        "kubecon",
				"ka.target.namespace":   "default",
				"ka.target.resource":    "pods",
				"ka.target.subresource": "exec",
				"ka.uri.param[command]": "sh",
				"ka.user.name":          "kubernetes-admin",
			},
			Target: alert.Target{Kind: alert.KindKubernetes, Host: "falco-k8saudit-eks-96d7f6f99-vwjgc",
				Namespace: "default", Pod: "kubecon", Resource: "pods"},
		},
		"falcosecurity-testing_tests-data-outputs_single_rule_with_cat_write.jsonl:1": catWrite(881781397, 1470327477881781397),
		"falcosecurity-testing_tests-data-outputs_single_rule_with_cat_write.jsonl:2": catWrite(881785348, 1470327477881785348),
		"falcosecurity-testing_tests-data-outputs_single_rule_with_cat_write.jsonl:3": catWrite(881796705, 1470327477881796705),
		"falcosecurity-testing_tests-data-outputs_single_rule_with_cat_write.jsonl:4": catWrite(881799840, 1470327477881799840),
		"falcosecurity-testing_tests-data-outputs_single_rule_with_cat_write.jsonl:5": catWrite(882003104, 1470327477882003104),
		"falcosecurity-testing_tests-data-outputs_single_rule_with_cat_write.jsonl:6": catWrite(882008208, 1470327477882008208),
		"falcosecurity-testing_tests-data-outputs_single_rule_with_cat_write.jsonl:7": catWrite(882045694, 1470327477882045694),
		"falcosecurity-testing_tests-data-outputs_single_rule_with_cat_write.jsonl:8": catWrite(882054739, 1470327477882054739),
		"falcosidekick_README_curl-test-event.json": {
			Source:      "falco",
			EventSource: "syscall",
			Rule:        "Write below binary dir",
			Priority:    alert.Error,
			Time:        time.Date(2019, 5, 17, 15, 31, 56, 746609046, time.UTC),
			Output:      "16:31:56.746609046: Error File below a known binary directory opened for writing (user=root command=touch /bin/hack file=/bin/hack)",
			Hostname:    "localhost",
			Fields: map[string]any{
				// Not the same instant as time: the README's example disagrees with itself.
				"evt.time":     int64(1507591916746609046),
				"fd.name":      "/bin/hack",
				"proc.cmdline": "touch /bin/hack",
				"user.name":    "root",
			},
		},
		"falcosidekick_outputs-client_test_falcoTestInput.json": {
			Source:      "falco",
			EventSource: "syscall", // spelled "syscalls"
			Rule:        "Test rule",
			Priority:    alert.Debug,
			Time:        time.Date(2001, 1, 1, 1, 10, 0, 0, time.UTC),
			Output:      "This is a test from falcosidekick",
			Tags:        []string{"test", "example"},
			Hostname:    "test-host",
			Fields:      map[string]any{"proc.name": "falcosidekick", "proc.tty": int64(1234)},
		},
	}
}

func TestParseFalcoSamples(t *testing.T) {
	receivedAt := time.Date(2024, 2, 3, 4, 5, 6, 7, time.FixedZone("CET", 3600))
	wants := sampleWants()
	seen := map[string]bool{}
	for _, p := range loadPayloads(t) {
		t.Run(p.name, func(t *testing.T) {
			seen[p.name] = true
			want, ok := wants[p.name]
			if !ok {
				t.Fatalf("no golden value for sample %s; add one to sampleWants", p.name)
			}
			sum := sha256.Sum256(p.body)
			want.Digest = "sha256:" + hex.EncodeToString(sum[:])
			want.ReceivedAt = receivedAt.UTC()
			got, err := ParseFalco(p.body, receivedAt)
			if err != nil {
				t.Fatalf("ParseFalco: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ParseFalco:\ngot  %+v\nwant %+v", got, want)
			}
		})
	}
	for _, name := range slices.Sorted(maps.Keys(wants)) {
		if !seen[name] {
			t.Errorf("golden value for %s, but no such sample payload", name)
		}
	}
}

func TestParseFalcoSampleDetails(t *testing.T) {
	file := "falco-website_docs-outputs-channels_terminal-shell.json"
	body, err := os.ReadFile(filepath.Join(samplesDir, file))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseFalco(body, time.Unix(0, 0))
	if err != nil {
		t.Fatalf("ParseFalco(%s): %v", file, err)
	}
	// From sha256sum of the file.
	if want := "sha256:e479cefca9ae7a7fa6bb38b5e94f7b7dcdedd46255d96d1c8935e4788f540573"; got.Digest != want {
		t.Errorf("Digest = %s, want %s", got.Digest, want)
	}
	if v, ok := got.Fields["evt.time"].(int64); !ok || v != 1685022245478445995 {
		t.Errorf("Fields[evt.time] = %#v, want int64(1685022245478445995)", got.Fields["evt.time"])
	}

	file = "falco-website_blog-response-engine-kubeless_terminal-shell-nulls.json"
	if body, err = os.ReadFile(filepath.Join(samplesDir, file)); err != nil {
		t.Fatal(err)
	}
	if got, err = ParseFalco(body, time.Unix(0, 0)); err != nil {
		t.Fatalf("ParseFalco(%s): %v", file, err)
	}
	for _, key := range []string{"container.image.repository", "proc.pname"} {
		if v, ok := got.Fields[key]; ok {
			t.Errorf("Fields[%s] = %#v, want absent (null in the payload)", key, v)
		}
	}
}
