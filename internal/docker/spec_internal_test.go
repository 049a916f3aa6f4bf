package docker

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestOwnConfig(t *testing.T) {
	health := &container.HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Second}
	img := &dockerspec.DockerOCIImageConfig{
		ImageConfig: ocispec.ImageConfig{
			Env:          []string{"PATH=/bin", "MODE=prod"},
			Cmd:          []string{"serve"},
			Labels:       map[string]string{"version": "1", "team": "a"},
			ExposedPorts: map[string]struct{}{"80/tcp": {}},
			Volumes:      map[string]struct{}{"/cache": {}},
			WorkingDir:   "/app",
			User:         "app",
			StopSignal:   "SIGQUIT",
		},
		DockerOCIImageConfigExt: dockerspec.DockerOCIImageConfigExt{Healthcheck: health},
	}
	tests := []struct {
		name string
		in   container.Config
		want container.Config
	}{
		{
			name: "everything inherited",
			in: container.Config{
				Hostname: testID[:12], Image: "app:1", Env: []string{"PATH=/bin", "MODE=prod"}, Cmd: []string{"serve"},
				Labels:       map[string]string{"version": "1", "team": "a"},
				ExposedPorts: network.PortSet{network.MustParsePort("80/tcp"): {}},
				Volumes:      map[string]struct{}{"/cache": {}}, WorkingDir: "/app", User: "app", StopSignal: "SIGQUIT",
				Healthcheck: &container.HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Second},
			},
			want: container.Config{
				Env: []string{}, Labels: map[string]string{}, ExposedPorts: network.PortSet{}, Volumes: map[string]struct{}{},
			},
		},
		{
			name: "own values kept",
			in: container.Config{
				Hostname: "db-1", Image: "app:1", Env: []string{"PATH=/bin", "MODE=debug", "ROLE=web"},
				Cmd: []string{"serve", "--verbose"}, Labels: map[string]string{"version": "1", "team": "b", "role": "web"},
				ExposedPorts: network.PortSet{network.MustParsePort("80/tcp"): {}, network.MustParsePort("9090/tcp"): {}},
				Volumes:      map[string]struct{}{"/cache": {}, "/scratch": {}}, WorkingDir: "/srv", User: "root", StopSignal: "SIGTERM",
				Healthcheck: &container.HealthConfig{Test: []string{"NONE"}},
			},
			want: container.Config{
				Hostname: "db-1", Env: []string{"MODE=debug", "ROLE=web"}, Cmd: []string{"serve", "--verbose"},
				Labels:       map[string]string{"team": "b", "role": "web"},
				ExposedPorts: network.PortSet{network.MustParsePort("9090/tcp"): {}},
				Volumes:      map[string]struct{}{"/scratch": {}}, WorkingDir: "/srv", User: "root", StopSignal: "SIGTERM",
				Healthcheck: &container.HealthConfig{Test: []string{"NONE"}},
			},
		},
		{
			name: "own entrypoint keeps an equal cmd",
			in:   container.Config{Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"serve"}},
			want: container.Config{Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"serve"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ownConfig(testID, &tc.in, img)
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("ownConfig() =\n%+v, want\n%+v", *got, tc.want)
			}
		})
	}
	t.Run("image gone", func(t *testing.T) {
		in := container.Config{Image: "app:1", Env: []string{"PATH=/bin"}, Cmd: []string{"serve"}}
		got := ownConfig(testID, &in, nil)
		want := container.Config{Env: []string{"PATH=/bin"}, Cmd: []string{"serve"}}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("ownConfig() = %+v, want %+v", *got, want)
		}
	})
}

// TestSpecJSON checks that a spec survives the JSON round trip it makes
// through Temporal.
func TestSpecJSON(t *testing.T) {
	stopTimeout := 7
	swappiness := int64(10)
	in := Spec{
		ID: testID, Name: "app", ImageID: "sha256:" + strings.Repeat("a", 64),
		Config: &container.Config{
			Env: []string{"A=1"}, Cmd: []string{"serve"}, Labels: map[string]string{"role": "web"},
			ExposedPorts: network.PortSet{network.MustParsePort("80/tcp"): {}, network.MustParsePort("53/udp"): {}},
			Healthcheck:  &container.HealthConfig{Test: []string{"CMD", "true"}, Interval: 2 * time.Second, Retries: 3},
			StopTimeout:  &stopTimeout,
		},
		HostConfig: &container.HostConfig{
			Binds:         []string{"/srv/data:/data:ro"},
			NetworkMode:   "front",
			PortBindings:  network.PortMap{network.MustParsePort("80/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8080"}}},
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 3},
			DNS:           []netip.Addr{netip.MustParseAddr("10.0.0.2")},
			Mounts:        []mount.Mount{{Type: mount.TypeVolume, Source: "data", Target: "/vol"}},
			Resources:     container.Resources{Memory: 1 << 28, MemorySwappiness: &swappiness},
			CapDrop:       []string{"ALL"},
		},
		Networks: []Attachment{{Network: "front", NetworkID: "n1", Aliases: []string{"web"}, IPv4: "10.1.0.5"}},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("json.Marshal() = %v", err)
	}
	var out Spec
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("json.Unmarshal() = %v", err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("after a JSON round trip:\n%+v\nwant\n%+v\n(json %s)", out, in, b)
	}
}

func TestWithNetworks(t *testing.T) {
	atts := []Attachment{{Network: "front", Aliases: []string{"web"}}}
	s := Spec{Name: "app", Networks: []Attachment{{Network: "old"}}}
	got := s.WithNetworks(atts)
	atts[0].Aliases[0] = "changed"
	if len(got.Networks) != 1 || got.Networks[0].Network != "front" || got.Networks[0].Aliases[0] != "web" {
		t.Errorf("WithNetworks() networks = %+v, want a copy of front [web]", got.Networks)
	}
	if s.Networks[0].Network != "old" {
		t.Errorf("WithNetworks() changed the original spec: %+v", s.Networks)
	}
}

func TestPlanNetworks(t *testing.T) {
	front, back := Attachment{Network: "front"}, Attachment{Network: "back"}
	bridge := Attachment{Network: "bridge"}
	tests := []struct {
		name        string
		mode        container.NetworkMode
		atts        []Attachment
		wantMode    container.NetworkMode
		wantPrimary string
		wantRest    []string
		wantErr     string
	}{
		{"mode names the primary", "back", []Attachment{front, back}, "back", "back", []string{"front"}, ""},
		{"first when the mode is gone", "gone", []Attachment{front, back}, "front", "front", []string{"back"}, ""},
		{"default means bridge", "default", []Attachment{front, bridge}, "bridge", "bridge", []string{"front"}, ""},
		{"no networks left", "front", nil, "none", "", nil, ""},
		{"none stays none", "none", nil, "none", "", nil, ""},
		{"host stays host", "host", nil, "host", "", nil, ""},
		{"container mode takes none", "container:db", []Attachment{front}, "", "", nil, `network mode "container:db" takes no networks`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hc := &container.HostConfig{NetworkMode: tc.mode}
			primary, rest, err := planNetworks(hc, tc.atts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("planNetworks() = %v, want %q", err, tc.wantErr)
				}
				return
			}
			var gotPrimary string
			if primary != nil {
				gotPrimary = primary.Network
			}
			var gotRest []string
			for _, a := range rest {
				gotRest = append(gotRest, a.Network)
			}
			if err != nil || hc.NetworkMode != tc.wantMode || gotPrimary != tc.wantPrimary || !reflect.DeepEqual(gotRest, tc.wantRest) {
				t.Errorf("planNetworks() = mode %q, primary %q, rest %q, %v; want %q, %q, %q",
					hc.NetworkMode, gotPrimary, gotRest, err, tc.wantMode, tc.wantPrimary, tc.wantRest)
			}
		})
	}
}

func TestReadiness(t *testing.T) {
	failing := &container.Health{Status: container.Unhealthy, Log: []*container.HealthcheckResult{
		{ExitCode: 1, Output: "old\n"}, {ExitCode: 1, Output: "connection refused\n"},
	}}
	tests := []struct {
		name      string
		state     container.State
		wantReady bool
		wantErr   string
	}{
		{"running without health check", container.State{Status: "running", Running: true}, true, ""},
		{"starting", container.State{Status: "running", Running: true, Health: &container.Health{Status: container.Starting}}, false, ""},
		{"healthy", container.State{Status: "running", Running: true, Health: &container.Health{Status: container.Healthy}}, true, ""},
		{"unhealthy", container.State{Status: "running", Running: true, Health: failing}, false,
			`container is running, health unhealthy, last check exited 1: "connection refused"`},
		{"exited", container.State{Status: "exited", ExitCode: 3}, false, "container is exited with code 3"},
		{"restarting", container.State{Status: "restarting", Running: true, Restarting: true}, false, ""},
		{"paused", container.State{Status: "paused", Running: true, Paused: true}, false, "container is paused"},
		{"created", container.State{Status: "created"}, false, "container was not started"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ready, err := readiness(tc.state)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if ready != tc.wantReady || gotErr != tc.wantErr {
				t.Errorf("readiness() = %v, %q, want %v, %q", ready, gotErr, tc.wantReady, tc.wantErr)
			}
		})
	}
}
