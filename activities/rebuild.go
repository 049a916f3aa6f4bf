package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/incident"
)

// RebuildInput is the input of RebuildImage.
type RebuildInput struct {
	IncidentID string `json:"incident_id"`
	// ImageID is the bad image on the worker's Docker daemon; empty for an
	// image that is only in a registry and on the nodes of a cluster (a
	// pod's), where Ref alone names what to rebuild.
	ImageID string `json:"image_id"`
	// Ref is the reference the incident knows the image by, e.g. example/app:1.
	Ref string `json:"ref"`
}

// RebuildResult describes the clean image.
type RebuildResult struct {
	Image incident.ImageChange `json:"image"`
}

// RebuildImage builds a clean image from the trusted source of the bad
// image's repository, with no cache, tags it as every tag of the image it
// replaces and labels it with its provenance. The build log lands in the
// write-once evidence folder <incident>-rebuild with a sealed manifest;
// once sealed, running again returns the same image.
func (r *Recovery) RebuildImage(ctx context.Context, in RebuildInput) (RebuildResult, error) {
	old, err := r.badImage(ctx, in)
	if err != nil {
		return RebuildResult{}, err
	}
	tags := rebuildTags(old, in.Ref)
	if len(tags) == 0 {
		return RebuildResult{}, permanentf(ErrTypeBadInput, "nothing names the image to rebuild: no image ID and no tag in %q", in.Ref)
	}
	replaces := old.ID
	if replaces == "" {
		replaces = in.Ref
	}
	src, ok := r.source(tags)
	if !ok {
		return RebuildResult{}, permanentf(ErrTypeRefused,
			"no trusted source for %s: add its repository under images: in quell's config", strings.Join(tags, ", "))
	}
	folderID := in.IncidentID + "-rebuild"
	folder, err := r.Store.Open(folderID, r.Actor)
	if err != nil {
		return RebuildResult{}, permanent(ErrTypeBadInput, err)
	}
	if m, err := r.Store.Manifest(folderID); err == nil {
		return r.rebuilt(ctx, m, old.ID)
	}
	dir, revision, cleanup, err := r.checkout(ctx, src)
	if err != nil {
		return RebuildResult{}, err
	}
	defer cleanup()
	logName := fmt.Sprintf("build/attempt-%d.log", activity.GetInfo(ctx).Attempt)
	w, err := folder.Create(logName)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("build log: %w", err)
	}
	defer w.Abort()
	now := time.Now().UTC()
	newID, err := r.Images.BuildImage(ctx, docker.BuildOptions{
		ContextDir: dir, Dockerfile: src.Dockerfile, Tags: tags,
		Labels: map[string]string{
			LabelIncident: in.IncidentID, LabelReplacesImage: replaces,
			LabelOCISource: src.origin(), LabelOCIRevision: revision, LabelOCICreated: now.Format(time.RFC3339),
		},
	}, heartbeatWriter{ctx: ctx, w: w})
	if _, cerr := w.Commit(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return RebuildResult{}, fmt.Errorf("build %s from %s: %w", strings.Join(tags, ", "), src.origin(), err)
	}
	r.removeOtherBuilds(ctx, in.IncidentID, newID)
	m, err := folder.Seal(map[string]string{
		"old_image_id": old.ID, "new_image_id": newID, "ref": in.Ref, "tags": strings.Join(tags, ","),
		"source": src.origin(), "revision": revision, "built_at": now.Format(time.RFC3339Nano),
	})
	if err != nil {
		return RebuildResult{}, fmt.Errorf("seal build log: %w", err)
	}
	return r.rebuilt(ctx, m, old.ID)
}

// badImage is the image the rebuild replaces, as the daemon knows it; none
// when the input names it by reference only.
func (r *Recovery) badImage(ctx context.Context, in RebuildInput) (docker.Image, error) {
	if in.ImageID == "" {
		return docker.Image{}, nil
	}
	old, err := r.Images.ImageInspect(ctx, in.ImageID)
	if err != nil {
		return docker.Image{}, classify(fmt.Errorf("bad image %s: %w", in.ImageID, err), docker.ErrNotFound)
	}
	return old, nil
}

// rebuilt describes a sealed build from its manifest, checking the image
// it names still exists.
func (r *Recovery) rebuilt(ctx context.Context, m evidence.Manifest, oldID string) (RebuildResult, error) {
	s := m.Subject
	if _, err := r.Images.ImageInspect(ctx, s["new_image_id"]); err != nil {
		return RebuildResult{}, permanent(ErrTypeNotFound, fmt.Errorf("rebuilt image %s: %w", s["new_image_id"], err))
	}
	built, _ := time.Parse(time.RFC3339Nano, s["built_at"])
	change := incident.ImageChange{
		OldImageID: oldID, Ref: s["ref"], NewImageID: s["new_image_id"], Tags: strings.Split(s["tags"], ","),
		Source: s["source"], Revision: s["revision"], BuiltAt: &built,
	}
	if n := len(m.Artifacts); n > 0 {
		a := m.Artifacts[n-1]
		change.BuildLog = &incident.Artifact{Name: a.Name, Path: filepath.Join(r.Store.Dir(m.IncidentID), a.Path), Size: a.Size, SHA256: a.SHA256}
	}
	return RebuildResult{Image: change}, nil
}

// removeOtherBuilds deletes images an interrupted earlier attempt built for
// this incident, so a retried build leaves no leftovers.
func (r *Recovery) removeOtherBuilds(ctx context.Context, incidentID, keep string) {
	imgs, err := r.Images.ImagesByLabel(ctx, LabelIncident, incidentID)
	if err != nil {
		return
	}
	for _, img := range imgs {
		if img.ID != keep && img.Labels[LabelReplacesImage] != "" {
			_, _ = r.Images.RemoveImage(ctx, img.ID)
		}
	}
}

// rebuildTags are the tags the clean image takes over: every tag of the
// bad image, and the incident's reference when it is a tag.
func rebuildTags(old docker.Image, ref string) []string {
	tags := slices.Clone(old.RepoTags)
	if ref != "" && !strings.Contains(ref, "@") && !strings.HasPrefix(ref, "sha256:") && !slices.Contains(tags, ref) {
		tags = append(tags, withTag(ref))
	}
	slices.Sort(tags)
	return slices.Compact(tags)
}

func withTag(ref string) string {
	if strings.LastIndex(ref, ":") > strings.LastIndex(ref, "/") {
		return ref
	}
	return ref + ":latest"
}

// repository strips the tag or digest from a reference.
func repository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return strings.TrimPrefix(strings.TrimPrefix(ref, "docker.io/"), "library/")
}

func (r *Recovery) source(refs []string) (TrustedSource, bool) {
	for _, ref := range refs {
		for _, s := range r.Sources {
			if repository(s.Repository) == repository(ref) {
				return s, true
			}
		}
	}
	return TrustedSource{}, false
}

// origin names the source in labels and reports.
func (s TrustedSource) origin() string {
	if s.GitURL != "" {
		return s.GitURL + "#" + s.GitRef
	}
	return s.ContextDir
}

// checkout returns the build context directory and its revision: the git
// commit for a git source, a digest of every file for a directory.
func (r *Recovery) checkout(ctx context.Context, s TrustedSource) (string, string, func(), error) {
	if s.GitURL == "" {
		rev, err := treeDigest(s.ContextDir)
		if err != nil {
			return "", "", nil, permanent(ErrTypeBadInput, fmt.Errorf("trusted source %s: %w", s.ContextDir, err))
		}
		return s.ContextDir, rev, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "quell-src-")
	if err != nil {
		return "", "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	steps := [][]string{
		{"git", "clone", "--quiet", "--no-checkout", s.GitURL, tmp},
		{"git", "-C", tmp, "checkout", "--quiet", "--detach", s.GitRef},
	}
	for _, args := range steps {
		if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
			cleanup()
			return "", "", nil, fmt.Errorf("%s: %w: %s", strings.Join(args[:3], " "), err, strings.TrimSpace(string(out)))
		}
	}
	out, err := exec.CommandContext(ctx, "git", "-C", tmp, "rev-parse", "HEAD").Output()
	if err != nil {
		cleanup()
		return "", "", nil, fmt.Errorf("git rev-parse: %w", err)
	}
	return filepath.Join(tmp, s.GitDir), strings.TrimSpace(string(out)), cleanup, nil
}

// treeDigest hashes every regular file's path and content under dir, in
// lexical order: the revision of a directory source.
func treeDigest(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// heartbeatWriter heartbeats as the build log streams.
type heartbeatWriter struct {
	ctx context.Context
	w   io.Writer
}

func (h heartbeatWriter) Write(p []byte) (int, error) {
	activity.RecordHeartbeat(h.ctx, len(p))
	return h.w.Write(p)
}
