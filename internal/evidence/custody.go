package evidence

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Custody returns incidentID's chain of custody, oldest first, as recorded
// in custody.log, including verifications after sealing.
func (s *Store) Custody(incidentID string) ([]CustodyEntry, error) {
	if err := validateIncidentID(incidentID); err != nil {
		return nil, err
	}
	dir := s.Dir(incidentID)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("incident %q: %w", incidentID, err)
	}
	entries, err := readCustody(dir)
	if err != nil {
		return nil, fmt.Errorf("incident %q: %w", incidentID, err)
	}
	return entries, nil
}

// readCustody parses the custody log in dir; a missing log is empty.
func readCustody(dir string) ([]CustodyEntry, error) {
	path := filepath.Join(dir, CustodyName)
	lines, err := readLines(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	entries := make([]CustodyEntry, 0, len(lines))
	for i, line := range lines {
		var e CustodyEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("custody log %s line %d: %w", path, i+1, err)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// appendCustody stamps e with the time and the Folder's actor and appends
// it to the custody log; the caller holds inc.mu.
func (f *Folder) appendCustody(e CustodyEntry) error {
	e.Time = f.store.clock()
	e.Actor = f.actor
	return appendChained(f.inc.dir, e)
}

// reconcileCustody adds the "collected" entry of every journaled artifact
// that lacks one because the process died between journal and custody
// appends; the caller holds inc.mu.
func (f *Folder) reconcileCustody() error {
	if len(f.inc.order) == 0 {
		return nil
	}
	entries, err := readCustody(f.inc.dir)
	if err != nil {
		return err
	}
	type key struct{ name, sum string }
	logged := make(map[key]bool, len(entries))
	for _, e := range entries {
		if e.Action == ActionCollected {
			logged[key{e.Artifact, e.SHA256}] = true
		}
	}
	for _, name := range f.inc.order {
		a := f.inc.done[name]
		if logged[key{a.Name, a.SHA256}] {
			continue
		}
		err := f.appendCustody(CustodyEntry{
			Action:   ActionCollected,
			Artifact: a.Name,
			SHA256:   a.SHA256,
			Note:     fmt.Sprintf("collected at %s; entry recorded after an interrupted commit", a.CollectedAt.Format(time.RFC3339Nano)),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// lastSealed returns the newest "sealed" entry for the manifest.
func lastSealed(entries []CustodyEntry) (CustodyEntry, bool) {
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Action == ActionSealed && entries[i].Artifact == ManifestName {
			return entries[i], true
		}
	}
	return CustodyEntry{}, false
}
