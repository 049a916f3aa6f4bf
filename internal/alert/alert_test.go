package alert

import (
	"encoding/json"
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
