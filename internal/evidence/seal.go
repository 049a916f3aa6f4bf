package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
)

// Seal writes manifest.json, once: the completed artifacts from the
// journal, subject, and the custody log so far, then appends a "sealed"
// custody entry carrying the manifest's own SHA-256. The manifest is
// written through a temporary file and renamed into place, read-only
// (0440). Before writing it, Seal removes leftover temporary files and any
// file that is not a completed artifact (recording each with a "discarded"
// entry), so the folder holds exactly what the manifest lists.
//
// If manifest.json already exists Seal returns it as written, adding the
// "sealed" entry if a killed process never did; it refuses a manifest
// whose hash differs from the sealed one. Seal fails while a Writer is
// open and when a journaled artifact's file is missing or resized.
func (f *Folder) Seal(subject map[string]string) (Manifest, error) {
	inc := f.inc
	inc.mu.Lock()
	defer inc.mu.Unlock()
	path := filepath.Join(inc.dir, ManifestName)
	data, err := os.ReadFile(path)
	if err == nil {
		return f.resumeSeal(data)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, fmt.Errorf("seal incident %q: %w", inc.id, err)
	}
	if n := len(inc.inflight); n > 0 {
		return Manifest{}, fmt.Errorf("seal incident %q: %d artifact writes in progress", inc.id, n)
	}
	m, err := f.buildManifest(subject)
	if err != nil {
		return Manifest{}, fmt.Errorf("seal incident %q: %w", inc.id, err)
	}
	data, err = json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, fmt.Errorf("seal incident %q: %w", inc.id, err)
	}
	data = append(data, '\n')
	if err := writeOnce(path, data); err != nil {
		return Manifest{}, fmt.Errorf("seal incident %q: %w", inc.id, err)
	}
	note := fmt.Sprintf("%d artifacts", len(m.Artifacts))
	if err := f.appendSealed(data, note); err != nil {
		return Manifest{}, fmt.Errorf("seal incident %q: %w", inc.id, err)
	}
	if err := f.sign(data, m); err != nil {
		return Manifest{}, fmt.Errorf("seal incident %q: %w", inc.id, err)
	}
	return m, nil
}

// buildManifest checks the journal against the files, tidies the folder
// and assembles the manifest; the caller holds inc.mu.
func (f *Folder) buildManifest(subject map[string]string) (Manifest, error) {
	inc := f.inc
	arts := make([]Artifact, 0, len(inc.order))
	for _, name := range inc.order {
		a, ok := inc.completed(name)
		if !ok {
			return Manifest{}, fmt.Errorf("artifact %q: file missing or resized since collection", name)
		}
		arts = append(arts, a)
	}
	if err := f.sweep(); err != nil {
		return Manifest{}, err
	}
	if err := f.reconcileCustody(); err != nil {
		return Manifest{}, err
	}
	custody, err := readCustody(inc.dir)
	if err != nil {
		return Manifest{}, err
	}
	if custody == nil {
		custody = []CustodyEntry{}
	}
	if len(subject) == 0 {
		subject = nil
	}
	return Manifest{
		IncidentID: inc.id,
		CreatedAt:  f.store.clock(),
		Subject:    maps.Clone(subject),
		Artifacts:  arts,
		Custody:    custody,
		Tool:       f.actor,
	}, nil
}

// sweep removes temporary files and files that are not completed
// artifacts; the caller holds inc.mu.
func (f *Folder) sweep() error {
	dir := f.inc.dir
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		switch {
		case reserved(name):
			return nil
		case strings.HasPrefix(d.Name(), ".") && strings.HasSuffix(d.Name(), partialSuffix):
			return os.Remove(path) // never evidence
		}
		return f.discardStale(name)
	})
}

// resumeSeal returns the existing manifest, completing an interrupted seal;
// the caller holds inc.mu.
func (f *Folder) resumeSeal(data []byte) (Manifest, error) {
	id := f.inc.id
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("manifest of incident %q: %w", id, err)
	}
	entries, err := readCustody(f.inc.dir)
	if err != nil {
		return Manifest{}, fmt.Errorf("seal incident %q: %w", id, err)
	}
	sum := sha256.Sum256(data)
	e, ok := lastSealed(entries)
	switch {
	case !ok:
		if err := f.appendSealed(data, "entry recorded after an interrupted seal"); err != nil {
			return Manifest{}, fmt.Errorf("seal incident %q: %w", id, err)
		}
	case e.SHA256 != hex.EncodeToString(sum[:]):
		return Manifest{}, fmt.Errorf("manifest of incident %q: sha256 %x, sealed as %s", id, sum, e.SHA256)
	}
	if err := f.sign(data, m); err != nil {
		return Manifest{}, fmt.Errorf("seal incident %q: %w", id, err)
	}
	return m, nil
}

func (f *Folder) appendSealed(manifest []byte, note string) error {
	sum := sha256.Sum256(manifest)
	return f.appendCustody(CustodyEntry{
		Action:   ActionSealed,
		Artifact: ManifestName,
		SHA256:   hex.EncodeToString(sum[:]),
		Note:     note,
	})
}
