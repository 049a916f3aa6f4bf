package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadTimestampAuthority(t *testing.T) {
	chain := filepath.Join(t.TempDir(), "tsa-chain.pem")
	if err := os.WriteFile(chain, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(write(t, "evidence:\n  timestamp_authority:\n    url: https://tsa.example.com/api/v1/timestamp\n    chain_file: "+chain+"\n    timeout: 30s\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Evidence.TimestampAuthority
	want := TimestampAuthority{URL: "https://tsa.example.com/api/v1/timestamp", ChainFile: chain, Timeout: 30 * time.Second}
	if got != want {
		t.Errorf("timestamp_authority = %+v, want %+v", got, want)
	}
	if pem, err := got.ReadChain(); err != nil || string(pem) != "-----BEGIN CERTIFICATE-----\n" {
		t.Errorf("ReadChain() = %q, %v", pem, err)
	}

	cfg, err = Load(write(t, "evidence:\n  timestamp_authority:\n    url: http://127.0.0.1:3000/api/v1/timestamp\n"))
	if err != nil {
		t.Fatal(err)
	}
	got = cfg.Evidence.TimestampAuthority
	if !got.Enabled() || got.Timeout != 10*time.Second {
		t.Errorf("timestamp_authority = %+v, want enabled with the default timeout 10s", got)
	}
	if pem, err := got.ReadChain(); err != nil || pem != nil {
		t.Errorf("ReadChain() with no chain_file = %q, %v; want nothing, to be fetched", pem, err)
	}
	if cfg, _ := Load(write(t, "")); cfg.Evidence.TimestampAuthority.Enabled() {
		t.Error("an authority is enabled by default")
	}
	if _, err := Load(write(t, "evidence:\n  timestamp_authority:\n    uri: https://tsa.example.com\n")); err == nil ||
		!strings.Contains(err.Error(), "line 3: field uri not found") {
		t.Errorf("unknown key: err = %v, want it named with its line", err)
	}
}

func TestValidateTimestampAuthority(t *testing.T) {
	for _, tc := range []struct {
		tsa  TimestampAuthority
		want string
	}{
		{TimestampAuthority{URL: "https://tsa.example.com/api/v1/timestamp", Timeout: time.Minute}, ""},
		{TimestampAuthority{URL: "http://127.0.0.1:3000/api/v1/timestamp"}, ""},
		{TimestampAuthority{ChainFile: "/etc/quell/tsa-chain.pem"}, "evidence.timestamp_authority: chain_file set but no url"},
		{TimestampAuthority{URL: "tsa.example.com/api/v1/timestamp"}, "evidence.timestamp_authority.url: want an absolute http or https URL"},
		{TimestampAuthority{URL: "ftp://user:s3cret@tsa.example.com/"}, "evidence.timestamp_authority.url: want an absolute http or https URL"},
		{TimestampAuthority{URL: "https://tsa.example.com", Timeout: time.Millisecond}, "evidence.timestamp_authority.timeout: 1ms; between 1s and 2m0s"},
		{TimestampAuthority{URL: "https://tsa.example.com", Timeout: time.Hour}, "evidence.timestamp_authority.timeout: 1h0m0s; between 1s and 2m0s"},
	} {
		cfg := Default()
		cfg.Evidence.TimestampAuthority = tc.tsa
		got := ""
		if err := cfg.Validate(); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Validate(%+v) = %q, want %q", tc.tsa, got, tc.want)
		}
	}
}

func TestEvidenceRetention(t *testing.T) {
	cfg, err := Load(write(t, "evidence:\n  retention: 2160h\n"))
	if err != nil || cfg.Evidence.Retention != 90*24*time.Hour {
		t.Fatalf("retention = %s, %v; want 90 days", cfg.Evidence.Retention, err)
	}
	if cfg, _ := Load(write(t, "")); cfg.Evidence.Retention != 0 {
		t.Errorf("default retention %s, want 0: kept until removed by hand", cfg.Evidence.Retention)
	}
	if _, err := Load(write(t, "evidence:\n  retention: 24m\n")); err == nil || !strings.Contains(err.Error(), "evidence.retention: 24m0s; at least 24h0m0s") {
		t.Errorf("a retention of 24m: err = %v, want it refused", err)
	}
}
