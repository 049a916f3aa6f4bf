package alert

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestUnitKey(t *testing.T) {
	cases := []struct {
		target  Target
		want    string
		wantErr string
	}{
		{Target{Kind: KindDocker, Host: "falco-xczjd", ContainerID: "ee97d9c4186f"}, "docker-falco-xczjd-ee97d9c4186f", ""},
		{Target{Kind: KindDocker, Host: "Node_1.example.com", ContainerID: "EE97D9C4186F0123456789"}, "docker-node-1-example-com-ee97d9c4186f", ""},
		{Target{Kind: KindDocker, ContainerID: "ee97d9c4186f"}, "docker-local-ee97d9c4186f", ""},
		{Target{Kind: KindDocker, Host: "h"}, "", "unit key: target has no container id"},
		{Target{}, "", `unit key: target kind "" not supported`},
		// Every spelling of one container's ID gives one key.
		{Target{Kind: KindDocker, Host: "h", ContainerID: "EE97D9C4186F"}, "docker-h-ee97d9c4186f", ""},
		{Target{Kind: KindDocker, Host: "h", ContainerID: "ee97d9c4186f0123456789abcdef0123456789abcdef0123456789abcdef0123"}, "docker-h-ee97d9c4186f", ""},
		// IDs that name no single container have no key.
		{Target{Kind: KindDocker, ContainerID: "ee97d9c4"}, "", `unit key: container id "ee97d9c4" is not 12 to 64 hex digits`},
		{Target{Kind: KindDocker, ContainerID: "../../etc/passwd"}, "", `unit key: container id "../../etc/passwd" is not 12 to 64 hex digits`},
		{Target{Kind: KindDocker, ContainerID: "$(id)aaaaaaaaaaaa"}, "", `unit key: container id "$(id)aaaaaaaaaaaa" is not 12 to 64 hex digits`},
		{Target{Kind: KindImage, ImageID: "sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1"}, "image-055936d39205", ""},
		{Target{Kind: KindImage, ImageID: "sha256:../../x"}, "", `unit key: image id "sha256:../../x" is not 12 to 64 hex digits`},
		{Target{Kind: KindImage}, "", "unit key: image target has no image id"},
		{Target{Kind: KindKubernetes, Host: "node-1", Namespace: "shop"}, "", "unit key: kubernetes target needs a namespace and a pod"},
	}
	for _, tc := range cases {
		got, err := tc.target.UnitKey()
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("UnitKey(%+v) error = %v, want %q", tc.target, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("UnitKey(%+v) = %q, %v, want %q", tc.target, got, err, tc.want)
		}
	}
}

func TestPriority(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Priority
	}{{"Critical", Critical}, {"informational", Informational}, {"INFO", Informational}, {"warn", Warning}, {"Alert", AlertPriority}, {"emergency", Emergency}} {
		got, err := ParsePriority(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParsePriority(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParsePriority("urgent"); err == nil || err.Error() != `unknown priority "urgent" (want one of debug, informational, notice, warning, error, critical, alert, emergency)` {
		t.Errorf("ParsePriority(urgent) error = %v", err)
	}
	if !(Warning < Error && Debug < Emergency) {
		t.Error("priorities out of order")
	}
	b, _ := json.Marshal(Critical)
	var back Priority
	if err := json.Unmarshal(b, &back); err != nil || string(b) != `"critical"` || back != Critical {
		t.Errorf("JSON round trip: %s %v %v", b, back, err)
	}
}

// safeKey is what a unit key may hold: a Temporal workflow ID, a file
// name and a Docker tag all take it.
var safeKey = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

func TestUnitKeyPod(t *testing.T) {
	pod := func(cluster, host, ns, name string) Target {
		return Target{Kind: KindKubernetes, Cluster: cluster, Host: host, Namespace: ns, Pod: name, ContainerID: "ee97d9c4186f"}
	}
	tests := []struct {
		target Target
		want   string
	}{
		{pod("", "falco-xczjd", "default", "kubecon"), "k8s-falco-xczjd-default-kubecon-"},
		{pod("prod-eu", "node-1", "shop", "web-0"), "k8s-prod-eu-shop-web-0-"},
		{pod("", "", "shop", "web.v1"), "k8s-local-shop-web.v1-"},
		{pod("Prod_EU", "", "shop", "web"), "k8s-prod-eu-shop-web-"},
	}
	for _, tt := range tests {
		got, err := tt.target.UnitKey()
		if err != nil || !strings.HasPrefix(got, tt.want) || len(got) != len(tt.want)+10 || !safeKey.MatchString(got) {
			t.Errorf("UnitKey(%+v) = %q, %v; want %s and 10 hex digits", tt.target, got, err, tt.want)
		}
	}
	// The container ID does not change the pod's key, nor the host's case.
	a, _ := pod("", "Node-1", "shop", "web").UnitKey()
	b, _ := Target{Kind: KindKubernetes, Host: "node-1", Namespace: "shop", Pod: "web"}.UnitKey()
	if a != b {
		t.Errorf("one pod, two keys: %q and %q", a, b)
	}
}

func TestUnitKeyPodDistinct(t *testing.T) {
	long := strings.Repeat("a", 63)
	// Pairs whose readable parts look alike: each must keep its own key.
	targets := []Target{
		{Kind: KindKubernetes, Host: "h", Namespace: "a-b", Pod: "c"},
		{Kind: KindKubernetes, Host: "h", Namespace: "a", Pod: "b-c"},
		{Kind: KindKubernetes, Host: "h-a", Namespace: "b", Pod: "c"},
		{Kind: KindKubernetes, Host: "h", Namespace: "ns", Pod: "web.0"},
		{Kind: KindKubernetes, Host: "h", Namespace: "ns", Pod: "web-0"},
		{Kind: KindKubernetes, Cluster: "h", Namespace: "ns", Pod: "web-0"},
		{Kind: KindKubernetes, Cluster: "H", Namespace: "ns", Pod: "web-0"},
		{Kind: KindKubernetes, Host: "h", Namespace: long, Pod: strings.Repeat("b", 253)},
		{Kind: KindKubernetes, Host: "h", Namespace: long, Pod: strings.Repeat("b", 252) + "c"},
		{Kind: KindKubernetes, Host: strings.Repeat("x", 253), Namespace: long, Pod: "p"},
	}
	seen := map[string]Target{}
	for _, tgt := range targets {
		key, err := tgt.UnitKey()
		if err != nil {
			t.Fatalf("UnitKey(%+v): %v", tgt, err)
		}
		if len(key) > MaxPodKey || !safeKey.MatchString(key) {
			t.Errorf("UnitKey(%+v) = %q: want at most %d of [a-z0-9.-]", tgt, key, MaxPodKey)
		}
		if other, ok := seen[key]; ok {
			t.Errorf("%+v and %+v share the key %q", tgt, other, key)
		}
		seen[key] = tgt
	}
}
