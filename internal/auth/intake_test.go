package auth

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestIntakeVerify(t *testing.T) {
	falcoTok := "falcosidekick-token-of-32-bytes-or-more"
	amTok := "alertmanager-token-of-32-bytes-or-more"
	secret := []byte("generic-detector-hmac-secret-32-bytes!")
	falcoHash, amHash := HashToken(falcoTok), HashToken(amTok)
	in, err := NewIntake(
		IntakeCredential{Source: "falco", Header: "x-quell-token", Token: &falcoHash},
		IntakeCredential{Source: "alertmanager", Token: &amHash},
		IntakeCredential{Source: "generic", HMACSecret: secret},
	)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"rule":"r"}`)
	sig := Sign(secret, body, "")
	cases := []struct {
		name, source, header, value string
		body                        []byte
		err                         string
	}{
		{"falcosidekick custom header", "falco", "X-Quell-Token", falcoTok, body, ""},
		{"wrong token", "falco", "X-Quell-Token", falcoTok + "x", body, "intake falco: bad credential: wrong token"},
		{"token in the wrong header", "falco", "Authorization", "Bearer " + falcoTok, body, "intake falco: header X-Quell-Token: no credential"},
		{"alertmanager bearer", "alertmanager", "Authorization", "Bearer " + amTok, body, ""},
		{"bearer in any case", "alertmanager", "Authorization", "bEaReR " + amTok, body, ""},
		{"another source's token", "alertmanager", "Authorization", "Bearer " + falcoTok, body, "intake alertmanager: bad credential: wrong token"},
		{"no scheme", "alertmanager", "Authorization", amTok, body, "intake alertmanager: header Authorization: bad credential: want the Bearer scheme"},
		{"signed", "generic", "X-Quell-Signature", sig, body, ""},
		{"signature in upper case", "generic", "X-Quell-Signature", "SHA256=" + strings.ToUpper(strings.TrimPrefix(sig, "sha256=")), body, ""},
		{"body changed", "generic", "X-Quell-Signature", sig, []byte(`{"rule":"s"}`), "intake generic: bad credential: wrong signature"},
		{"not hex", "generic", "X-Quell-Signature", "sha256=zz", body, "intake generic: bad credential: wrong signature"},
		{"unsigned", "generic", "", "", body, "intake generic: header X-Quell-Signature: no credential"},
		{"no credential for the source", "trivy", "Authorization", "Bearer " + amTok, body, "intake trivy: bad credential: none configured"},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.header != "" {
			h.Set(tc.header, tc.value)
		}
		p, err := in.Verify(tc.source, h, tc.body)
		got := ""
		if err != nil {
			got = err.Error()
			if !errors.Is(err, ErrBadCredential) && !errors.Is(err, ErrNoCredential) {
				t.Errorf("%s: %v wraps neither credential error", tc.name, err)
			}
			for _, s := range []string{falcoTok, amTok, string(secret), strings.TrimPrefix(sig, "sha256=")} {
				if strings.Contains(got, s) {
					t.Errorf("%s: the error repeats a credential", tc.name)
				}
			}
		} else if want := (Principal{"intake:" + tc.source, Detector, SourceIntake}); p != want {
			t.Errorf("%s: principal %+v, want %+v", tc.name, p, want)
		}
		if got != tc.err {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.err)
		}
	}
	if !in.Has("falco") || in.Has("trivy") || (*Intake)(nil).Has("falco") {
		t.Error("Has")
	}
}

func TestNewIntakeChecks(t *testing.T) {
	h := HashToken("x")
	_, err := NewIntake(
		IntakeCredential{Source: "falco", Token: &h, HMACSecret: []byte(strings.Repeat("s", 32))},
		IntakeCredential{Source: "trivy"},
		IntakeCredential{Source: "generic", HMACSecret: []byte("short")},
		IntakeCredential{Source: "alertmanager", Token: &h, Header: "Bad Header"},
		IntakeCredential{Source: "alertmanager", Token: &h},
	)
	want := strings.Join([]string{
		"intake falco: want a token hash or an HMAC secret, not both or neither",
		"intake trivy: want a token hash or an HMAC secret, not both or neither",
		"intake generic: hmac secret: 5 bytes, shorter than 32",
		`intake alertmanager: header "Bad Header": not an HTTP header name`,
		"intake alertmanager: listed twice",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
}
