package evidence

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRetentionKeepsHeldEvidence(t *testing.T) {
	s := newTestStore(t)
	for _, id := range []string{"inc-old", "inc-held", "inc-new"} {
		f := openFolder(t, s, id)
		mustWrite(t, f, "inspect.json", 1, 100)
		if _, err := f.Seal(testSubject); err != nil {
			t.Fatal(err)
		}
	}
	// The test clock ticks a second per reading: every folder sealed
	// within a minute of t0.
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(91 * 24 * time.Hour)
	const ninetyDays = 90 * 24 * time.Hour

	if err := s.Hold("inc-held", verifyActor, ""); err == nil {
		t.Error("a hold without a reason was set")
	}
	if err := s.Hold("inc-held", verifyActor, "litigation 2026-17"); err != nil {
		t.Fatal(err)
	}
	if err := s.Hold("inc-held", verifyActor, "again"); err != nil {
		t.Fatal(err)
	}
	if err := s.Hold("no-such", verifyActor, "x"); err == nil {
		t.Error("a hold on no evidence was set")
	}

	// A dry run removes nothing; an age not yet reached finds nothing.
	if got, err := s.Expire(ninetyDays, now, true); err != nil || len(got) != 3 || got[0].Removed || got[1].Removed || got[2].Removed {
		t.Fatalf("dry run = %+v, %v", got, err)
	}
	if got, err := s.Expire(365*24*time.Hour, now, false); err != nil || len(got) != 0 {
		t.Fatalf("within retention = %+v, %v", got, err)
	}

	got, err := s.Expire(ninetyDays, now, false)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, x := range got {
		lines = append(lines, x.IncidentID+" held="+boolText(x.Held)+" removed="+boolText(x.Removed))
	}
	if want := "inc-held held=yes removed=no,inc-new held=no removed=yes,inc-old held=no removed=yes"; strings.Join(lines, ",") != want {
		t.Errorf("Expire = %s, want %s", strings.Join(lines, ","), want)
	}
	if _, err := os.Stat(s.Dir("inc-old")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("expired folder still there: %v", err)
	}
	entries, err := s.Custody("inc-held")
	if err != nil {
		t.Fatal(err)
	}
	holds := 0
	for _, e := range entries {
		if e.Action == ActionHeld {
			holds++
		}
	}
	if holds != 1 {
		t.Errorf("%d hold entries, want 1 (a second hold records nothing)", holds)
	}

	// Released, it goes at the next pass; the custody chain stayed whole.
	if err := s.Release("inc-held", verifyActor, "case closed"); err != nil {
		t.Fatal(err)
	}
	if v, err := VerifyDir(t.Context(), s.Dir("inc-held"), "", VerifyOptions{}); err != nil || !v.OK() {
		t.Fatalf("verify after hold and release = %+v, %v", v.Problems, err)
	}
	if got, err := s.Expire(ninetyDays, now, false); err != nil || len(got) != 1 || !got[0].Removed {
		t.Errorf("after release = %+v, %v", got, err)
	}
	if _, err := s.Expire(0, now, false); err == nil {
		t.Error("a retention of 0 was accepted")
	}
}

func boolText(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
