package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// copyChunk is how much verification reads at a time; progressEvery is how
// often, in bytes written, Folder.Write reports progress.
const (
	copyChunk     = 1 << 20
	progressEvery = 1 << 20
)

// Folder is one incident's evidence folder, opened by an actor.
type Folder struct {
	store *Store
	inc   *incident
	actor Actor
}

// Dir returns the folder's directory.
func (f *Folder) Dir() string {
	return f.inc.dir
}

// Artifact returns the completed artifact called name: one recorded in the
// journal whose file exists with the recorded size. Before sealing, a file
// at name that is not completed is deleted, as Create would.
func (f *Folder) Artifact(name string) (Artifact, bool) {
	if validateName(name) != nil {
		return Artifact{}, false
	}
	inc := f.inc
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if a, ok := inc.completed(name); ok {
		return a, true
	}
	if !inc.inflight[name] && !inc.sealed() {
		_ = f.discardStale(name) // Create retries the removal and reports its error
	}
	return Artifact{}, false
}

// Artifacts returns the completed artifacts in completion order.
func (f *Folder) Artifacts() []Artifact {
	inc := f.inc
	inc.mu.Lock()
	defer inc.mu.Unlock()
	var arts []Artifact
	for _, name := range inc.order {
		if a, ok := inc.completed(name); ok {
			arts = append(arts, a)
		}
	}
	return arts
}

// Create starts writing the artifact called name, a clean relative slash
// path such as "logs/stdout.log". It returns an error wrapping ErrExists if
// the artifact is already completed, ErrSealed once the folder is sealed,
// and ErrInvalidName for a bad name.
//
// Resuming after a crash: a temporary file from an earlier attempt is
// removed. So is a file at the final name that the journal does not record
// as completed: the process died between renaming it into place and
// journaling it, so nothing vouches for its content and it is not listed
// anywhere. Deleting it (with a "discarded" custody entry) and writing the
// artifact again never loses a recorded artifact and never lists one twice.
func (f *Folder) Create(name string) (*Writer, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	inc := f.inc
	inc.mu.Lock()
	defer inc.mu.Unlock()
	switch _, done := inc.completed(name); {
	case inc.sealed():
		return nil, fmt.Errorf("artifact %q: %w", name, ErrSealed)
	case done:
		return nil, fmt.Errorf("artifact %q: %w", name, ErrExists)
	case inc.inflight[name]:
		return nil, fmt.Errorf("artifact %q: write in progress", name)
	}
	if err := f.discardStale(name); err != nil {
		return nil, fmt.Errorf("artifact %q: %w", name, err)
	}
	final := inc.path(name)
	tmp := partialPath(final)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("artifact %q: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(final), dirMode); err != nil {
		return nil, fmt.Errorf("artifact %q: %w", name, err)
	}
	file, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return nil, fmt.Errorf("artifact %q: %w", name, err)
	}
	inc.inflight[name] = true
	return newWriter(f, name, file, tmp, final), nil
}

// Write collects the artifact called name from r: it creates it, copies r
// as Writer.ReadFrom does while ctx is live, calling progress (if not nil)
// with the bytes written so far about every MiB and at the end, and
// commits. On any error nothing is left behind. A Read blocked in r is not
// interrupted by ctx.
func (f *Folder) Write(ctx context.Context, name string, r io.Reader, progress func(written int64)) (Artifact, error) {
	w, err := f.Create(name)
	if err != nil {
		return Artifact{}, err
	}
	if err := w.readFrom(ctx, r, progress); err != nil {
		return Artifact{}, errors.Join(fmt.Errorf("artifact %q: %w", name, err), w.Abort())
	}
	return w.Commit()
}

// discardStale removes the file at name if it is not a completed artifact,
// recording the removal in the custody log; the caller holds inc.mu.
func (f *Folder) discardStale(name string) error {
	inc := f.inc
	path := inc.path(name)
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, done := inc.completed(name); done || info.IsDir() {
		return nil
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	note := fmt.Sprintf("unrecorded file of %d bytes from an interrupted attempt, removed to collect again", info.Size())
	if a, ok := inc.done[name]; ok {
		note = fmt.Sprintf("file of %d bytes does not match the journal (%d bytes), removed to collect again", info.Size(), a.Size)
	}
	return f.appendCustody(CustodyEntry{Action: ActionDiscarded, Artifact: name, Note: note})
}
