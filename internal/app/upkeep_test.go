package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/audit"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/tsa"
	"github.com/quell-ir/quell/internal/tsa/tsatest"
)

// TestUpkeep: against a real timestamp authority that is down when the
// evidence is sealed, the worker's pass adds the token once it is back;
// past the retention it removes the evidence no hold keeps, and audits it.
func TestUpkeep(t *testing.T) {
	authority := tsatest.Start(t)
	dataDir := t.TempDir()
	store := evidence.NewStore(filepath.Join(dataDir, "evidence"))
	key, err := evidence.LoadOrCreateKey(filepath.Join(dataDir, evidence.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	store.SetSigner(key)
	client, err := tsa.New(authority.URL, authority.Chain, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	store.SetTimestamper(client, authority.Chain)
	actor := evidence.Actor{Who: "quell-worker", Host: "h", Version: "test"}
	for _, id := range []string{"inc-kept", "inc-gone"} {
		f, err := store.Open(id, actor)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(t.Context(), "inspect.json", strings.NewReader(`{}`), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seal(map[string]string{"container_id": id}); err != nil {
			t.Fatal(err)
		}
	}
	al, err := audit.Open(audit.Path(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now()
	u := &upkeep{store: store, actor: actor, retention: 90 * 24 * time.Hour, audit: al, log: slog.Default(), now: func() time.Time { return later }}

	authority.Stop()
	u.pass(t.Context())
	for _, id := range []string{"inc-kept", "inc-gone"} {
		if _, err := os.Stat(filepath.Join(store.Dir(id), evidence.TimestampName)); err == nil {
			t.Fatalf("%s has a token while the authority is down", id)
		}
	}
	authority.Restart(t)
	u.pass(t.Context())
	v, err := store.Verify(t.Context(), "inc-kept", actor, nil)
	if err != nil || !v.OK() || v.Timestamped == nil {
		t.Fatalf("after the authority came back: %+v, %v; want the token checked", v.Problems, err)
	}

	if err := store.Hold("inc-kept", actor, "case 17"); err != nil {
		t.Fatal(err)
	}
	later = time.Now().Add(91 * 24 * time.Hour)
	u.pass(t.Context())
	if _, err := os.Stat(store.Dir("inc-gone")); !os.IsNotExist(err) {
		t.Errorf("evidence past its retention still there: %v", err)
	}
	if _, err := os.Stat(store.Dir("inc-kept")); err != nil {
		t.Errorf("held evidence removed: %v", err)
	}
	log, err := os.ReadFile(audit.Path(dataDir))
	if err != nil || !strings.Contains(string(log), `"action":"evidence.expire","incident":"inc-gone"`) || strings.Contains(string(log), `"incident":"inc-kept"`) {
		t.Errorf("audit log (%v):\n%s", err, log)
	}

	// Started and halted as the worker does.
	u.start()
	u.halt()
}
