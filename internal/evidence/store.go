package evidence

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Store keeps the evidence of every incident under one root directory,
// normally <data-dir>/evidence. It is safe for concurrent use.
type Store struct {
	root string
	now  func() time.Time // the clock; tests replace it

	signer   ed25519.PrivateKey // signs sealed manifests, if set
	stamper  Timestamper        // timestamps signatures, if set
	tsaChain []byte             // the authority's PEM chain that verification trusts

	mu        sync.Mutex
	incidents map[string]*incident
}

// incident is the state of one incident folder shared by every Folder the
// Store opened on it, so that concurrent activities on one incident see each
// other's artifacts. mu serialises every change to the folder's files.
type incident struct {
	id, dir string

	mu       sync.Mutex
	loaded   bool
	done     map[string]Artifact // latest journal entry per name
	order    []string            // names of done, in completion order
	inflight map[string]bool     // names with an open Writer
}

// NewStore returns a Store rooted at root, which is created on first use.
func NewStore(root string) *Store {
	return &Store{
		root:      root,
		now:       time.Now,
		incidents: make(map[string]*incident),
	}
}

// Dir returns the folder that holds incidentID's evidence. It does not
// validate incidentID.
func (s *Store) Dir(incidentID string) string {
	return filepath.Join(s.root, incidentID)
}

// Open returns the evidence folder of incidentID, creating it (mode 0750)
// if absent, with actor named in the custody entries the Folder writes. A
// folder left by a killed process is resumed: see Folder.Create.
func (s *Store) Open(incidentID string, actor Actor) (*Folder, error) {
	if err := validateIncidentID(incidentID); err != nil {
		return nil, err
	}
	if err := s.makeDir(incidentID); err != nil {
		return nil, fmt.Errorf("incident %q: %w", incidentID, err)
	}
	inc := s.incident(incidentID)
	f := &Folder{store: s, inc: inc, actor: actor}
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if !inc.loaded {
		if err := inc.loadJournal(); err != nil {
			return nil, fmt.Errorf("incident %q: %w", incidentID, err)
		}
		inc.loaded = true
	}
	if err := f.reconcileCustody(); err != nil {
		return nil, fmt.Errorf("incident %q: %w", incidentID, err)
	}
	return f, nil
}

// Manifest returns the sealed manifest of incidentID; it returns an error
// wrapping ErrNoManifest if the incident has not been sealed.
func (s *Store) Manifest(incidentID string) (Manifest, error) {
	if err := validateIncidentID(incidentID); err != nil {
		return Manifest{}, err
	}
	data, err := s.readManifest(incidentID)
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("manifest of incident %q: %w", incidentID, err)
	}
	return m, nil
}

func (s *Store) readManifest(incidentID string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(s.Dir(incidentID), ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("incident %q: %w", incidentID, ErrNoManifest)
	}
	if err != nil {
		return nil, fmt.Errorf("incident %q: %w", incidentID, err)
	}
	return data, nil
}

// clock returns the current time in UTC, without a monotonic reading.
func (s *Store) clock() time.Time {
	return s.now().UTC()
}

// makeDir creates the root and the incident folder, fsyncing the root when
// the folder is new.
func (s *Store) makeDir(incidentID string) error {
	if err := os.MkdirAll(s.root, dirMode); err != nil {
		return err
	}
	dir := s.Dir(incidentID)
	err := os.Mkdir(dir, dirMode)
	if err == nil {
		return syncDir(s.root)
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// incident returns the shared state of incidentID, creating it unloaded.
func (s *Store) incident(incidentID string) *incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.incidents[incidentID]
	if !ok {
		inc = &incident{
			id:       incidentID,
			dir:      s.Dir(incidentID),
			done:     make(map[string]Artifact),
			inflight: make(map[string]bool),
		}
		s.incidents[incidentID] = inc
	}
	return inc
}

// loadJournal reads the completed artifacts from the journal; the caller
// holds inc.mu.
func (inc *incident) loadJournal() error {
	path := filepath.Join(inc.dir, journalName)
	lines, err := readLines(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for i, line := range lines {
		var a Artifact
		if err := json.Unmarshal(line, &a); err != nil {
			return fmt.Errorf("journal %s line %d: %w", path, i+1, err)
		}
		if err := validateName(a.Name); err != nil {
			return fmt.Errorf("journal %s line %d: %w", path, i+1, err)
		}
		inc.record(a)
	}
	return nil
}

// record makes a the latest completion of its name; the caller holds inc.mu.
func (inc *incident) record(a Artifact) {
	if _, ok := inc.done[a.Name]; ok {
		inc.order = slices.DeleteFunc(inc.order, func(n string) bool { return n == a.Name })
	}
	inc.done[a.Name] = a
	inc.order = append(inc.order, a.Name)
}

// path returns the file of the artifact called name.
func (inc *incident) path(name string) string {
	return artifactPath(inc.dir, name)
}

// artifactPath returns the file in dir of the artifact called name.
func artifactPath(dir, name string) string {
	return filepath.Join(dir, filepath.FromSlash(name))
}

// completed reports a's latest journal entry if its file is intact, that
// is a regular file of the recorded size; the caller holds inc.mu.
func (inc *incident) completed(name string) (Artifact, bool) {
	a, ok := inc.done[name]
	if !ok {
		return Artifact{}, false
	}
	size, ok := regularSize(inc.path(name))
	return a, ok && size == a.Size
}

// sealed reports whether manifest.json exists.
func (inc *incident) sealed() bool {
	_, err := os.Lstat(filepath.Join(inc.dir, ManifestName))
	return err == nil
}
