package docker

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestAttachmentsFrom(t *testing.T) {
	in := container.InspectResponse{
		ID: testID,
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
			"zeta": {NetworkID: "z1", Aliases: []string{"api", "0123456789ab", "api"}, IPAddress: netip.MustParseAddr("172.20.0.3")},
			"alpha": {
				NetworkID: "a1", Links: []string{"db:db"},
				IPAddress: netip.MustParseAddr("172.21.0.2"), GlobalIPv6Address: netip.MustParseAddr("fd00::2"),
			},
			"none": {NetworkID: "n1"},
			"host": {NetworkID: "h1"},
		}},
	}
	got := attachmentsFrom(in)
	want := []Attachment{
		{Network: "alpha", NetworkID: "a1", IPv4: "172.21.0.2", IPv6: "fd00::2", Links: []string{"db:db"}},
		{Network: "zeta", NetworkID: "z1", Aliases: []string{"api"}, IPv4: "172.20.0.3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("attachmentsFrom() = %+v, want %+v", got, want)
	}
}

func TestEndpointFor(t *testing.T) {
	tests := []struct {
		name string
		a    Attachment
		want *network.EndpointSettings
	}{
		{
			name: "default bridge takes nothing",
			a:    Attachment{Network: "bridge", Aliases: []string{"x"}, IPv4: "172.17.0.2"},
			want: nil,
		},
		{
			name: "user network without addresses",
			a:    Attachment{Network: "front", Aliases: []string{"web"}},
			want: &network.EndpointSettings{Aliases: []string{"web"}},
		},
		{
			name: "user network with both addresses",
			a:    Attachment{Network: "front", IPv4: "10.1.0.5", IPv6: "fd00::5", Links: []string{"db:db"}},
			want: &network.EndpointSettings{
				Links: []string{"db:db"},
				IPAMConfig: &network.EndpointIPAMConfig{
					IPv4Address: netip.MustParseAddr("10.1.0.5"),
					IPv6Address: netip.MustParseAddr("fd00::5"),
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := endpointFor(tc.a.Network, tc.a)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("endpointFor(%+v) = %+v, want %+v", tc.a, got, tc.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	daemon := fmt.Errorf("no such container: %w", cerrdefs.ErrNotFound)
	tests := []struct {
		name         string
		err          error
		wantNotFound bool
	}{
		{"nil", nil, false},
		{"daemon not found", daemon, true},
		{"already classified", classify(daemon), true},
		{"conflict", cerrdefs.ErrConflict, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.err)
			if errors.Is(got, ErrNotFound) != tc.wantNotFound {
				t.Errorf("errors.Is(classify(%v), ErrNotFound) = %v, want %v", tc.err, !tc.wantNotFound, tc.wantNotFound)
			}
			if tc.err != nil && got.Error() != tc.err.Error() {
				t.Errorf("classify(%v).Error() = %q, want the daemon's message", tc.err, got.Error())
			}
		})
	}
}
