package auth

import (
	"net/http"
	"strings"
	"testing"
)

func TestRoleCan(t *testing.T) {
	actions := []Action{PostAlert, Read, ReadMetrics, Decide, Undo, ManageTokens}
	cases := []struct {
		role Role
		want string // the actions held, in the order above
	}{
		{Detector, "post_alert"},
		{Viewer, "read read_metrics"},
		{Responder, "read read_metrics decide"},
		{Admin, "post_alert read read_metrics decide undo manage_tokens"},
		{"", ""},
		{"root", ""},
	}
	for _, tc := range cases {
		var held []string
		for _, a := range actions {
			if tc.role.Can(a) {
				held = append(held, string(a))
			}
		}
		if got := strings.Join(held, " "); got != tc.want {
			t.Errorf("%q can %q, want %q", tc.role, got, tc.want)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range Roles() {
		got, err := ParseRole(string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	_, err := ParseRole("Admin")
	if got, want := err.Error(), `role "Admin": want one of detector, viewer, responder, admin`; got != want {
		t.Errorf("err = %q, want %q", got, want)
	}
}

func TestRoleRankPicksHighest(t *testing.T) {
	for i, r := range Roles()[1:] {
		if lower := Roles()[i]; r.rank() <= lower.rank() {
			t.Errorf("%s ranks %d, not above %s (%d)", r, r.rank(), lower, lower.rank())
		}
	}
	if Role("").rank() != 0 || Role("root").rank() != 0 {
		t.Error("unknown roles rank above none")
	}
}

func TestBearer(t *testing.T) {
	cases := []struct {
		header string
		token  string
		ok     bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER   abc ", "abc", true},
		{"Bearer\tabc", "abc", true},
		{"Bearerabc", "", false},
		{"Bearer ", "", false},
		{"Basic YWxpY2U6eA==", "", false},
		{"", "", false},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Authorization", tc.header)
		}
		got, ok := Bearer(h)
		if got != tc.token || ok != tc.ok {
			t.Errorf("Bearer(%q) = %q, %v; want %q, %v", tc.header, got, ok, tc.token, tc.ok)
		}
	}
}

func TestCheckSecret(t *testing.T) {
	cases := []struct{ secret, want string }{
		{"", "blank"},
		{"   \t", "blank"},
		{"short-secret", "12 bytes, shorter than 32"},
		{strings.Repeat("x", 31), "31 bytes, shorter than 32"},
		{strings.Repeat("x", 32), ""},
	}
	for _, tc := range cases {
		got := ""
		if err := CheckSecret(tc.secret); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("CheckSecret(%d bytes) = %q, want %q", len(tc.secret), got, tc.want)
		}
	}
}

func TestNewToken(t *testing.T) {
	a, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewToken()
	if !strings.HasPrefix(a, TokenPrefix) || len(a) != len(TokenPrefix)+43 || a == b {
		t.Errorf("tokens %q, %q: want %s and 43 base64url characters, each different", a, b, TokenPrefix)
	}
	if err := CheckSecret(a); err != nil {
		t.Errorf("a new token fails CheckSecret: %v", err)
	}
	h := HashToken(a)
	back, err := ParseHash(strings.ToUpper(h.String()))
	if err != nil || !back.Equal(h) {
		t.Errorf("ParseHash(upper-case hex) = %v, %v", back, err)
	}
	if _, err := ParseHash("abc"); err == nil {
		t.Error("ParseHash took 3 digits")
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"alice", "ci-falco", "alice@example.com", "A.b_c+d"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", "../x", "a b", "a/b", "x\x00", strings.Repeat("a", 65)} {
		if err := CheckName(bad); err == nil {
			t.Errorf("CheckName(%q) accepted", bad)
		}
	}
}
