package evidence

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Retention: an incident's evidence is kept until it is older than the
// configured age, counted from its sealing, and never while a legal hold
// is set. Holds are custody entries, so who set and lifted one, when and
// why is in the chain of custody with everything else.
const (
	// ActionHeld records a legal hold set on the evidence.
	ActionHeld = "held"
	// ActionReleased records a legal hold lifted.
	ActionReleased = "released"
)

// ErrHeld reports evidence under a legal hold.
var ErrHeld = errors.New("under a legal hold")

// Hold sets a legal hold on incidentID's evidence, naming actor and
// reason: Expire keeps it until Release.
func (s *Store) Hold(incidentID string, actor Actor, reason string) error {
	return s.setHold(incidentID, ActionHeld, actor, reason)
}

// Release lifts the legal hold on incidentID's evidence.
func (s *Store) Release(incidentID string, actor Actor, reason string) error {
	return s.setHold(incidentID, ActionReleased, actor, reason)
}

func (s *Store) setHold(incidentID, action string, actor Actor, reason string) error {
	if reason == "" {
		return fmt.Errorf("incident %q: a legal hold needs a reason", incidentID)
	}
	held, err := s.Held(incidentID)
	if err != nil {
		return err
	}
	if held == (action == ActionHeld) {
		return nil // already so: nothing to record
	}
	return s.RecordRead(incidentID, action, actor, reason)
}

// Held reports whether a legal hold is set on incidentID's evidence: the
// last of its held and released entries is a hold.
func (s *Store) Held(incidentID string) (bool, error) {
	entries, err := s.Custody(incidentID)
	if err != nil {
		return false, err
	}
	return held(entries), nil
}

func held(entries []CustodyEntry) bool {
	for i := len(entries) - 1; i >= 0; i-- {
		switch entries[i].Action {
		case ActionHeld:
			return true
		case ActionReleased:
			return false
		}
	}
	return false
}

// Expiry is one evidence folder past its retention.
type Expiry struct {
	IncidentID string
	// Since is when the evidence was sealed (or, never sealed, first
	// written).
	Since time.Time
	// Held is set when a legal hold keeps it.
	Held bool
	// Removed is set once the folder is gone.
	Removed bool
}

// Expire finds the evidence folders sealed more than maxAge before now and
// removes those no hold keeps, unless dryRun. It returns every folder past
// its age, held or not, so that the caller records each removal in the
// audit log; on an error it returns what it did so far.
func (s *Store) Expire(maxAge time.Duration, now time.Time, dryRun bool) ([]Expiry, error) {
	if maxAge <= 0 {
		return nil, fmt.Errorf("retention %s: want a positive age", maxAge)
	}
	entries, err := os.ReadDir(s.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("evidence root: %w", err)
	}
	var out []Expiry
	for _, e := range entries {
		id := e.Name()
		if !e.IsDir() || validateIncidentID(id) != nil {
			continue
		}
		custody, err := s.Custody(id)
		if err != nil || len(custody) == 0 {
			continue // not a folder quell wrote, or empty: never guess
		}
		since := custody[0].Time
		if c, ok := lastSealed(custody); ok {
			since = c.Time
		}
		if now.Sub(since) <= maxAge {
			continue
		}
		x := Expiry{IncidentID: id, Since: since, Held: held(custody)}
		if !x.Held && !dryRun {
			switch err := s.remove(id); {
			case errors.Is(err, ErrHeld): // held just now
				x.Held = true
			case err != nil:
				return out, err
			default:
				x.Removed = true
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// remove deletes incidentID's folder, holding its lock so that no custody
// entry is written into it meanwhile, and checking the hold once more
// under the lock.
func (s *Store) remove(incidentID string) error {
	dir := s.Dir(incidentID)
	unlock, err := lockFolder(dir)
	if err != nil {
		return err
	}
	defer unlock()
	entries, err := readCustody(dir)
	if err != nil {
		return fmt.Errorf("incident %q: %w", incidentID, err)
	}
	if held(entries) {
		return fmt.Errorf("incident %q: %w", incidentID, ErrHeld)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove evidence of incident %q: %w", incidentID, err)
	}
	s.mu.Lock()
	delete(s.incidents, incidentID)
	s.mu.Unlock()
	return nil
}
