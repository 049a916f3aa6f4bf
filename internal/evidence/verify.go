package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// Verification is the outcome of re-reading an incident's evidence.
type Verification struct {
	// IncidentID names the incident.
	IncidentID string `json:"incident_id"`
	// Verified counts the artifacts found intact.
	Verified int `json:"verified"`
	// Problems lists what did not match, one per artifact (or the manifest).
	Problems []Problem `json:"problems,omitempty"`
	// ManifestSHA256 is the hex SHA-256 of manifest.json as read.
	ManifestSHA256 string `json:"manifest_sha256"`
	// At is when the verification finished, in UTC.
	At time.Time `json:"at"`
}

// OK reports whether the verification found no problem.
func (v Verification) OK() bool {
	return len(v.Problems) == 0
}

// Problem is one artifact, or the manifest, that failed verification.
type Problem struct {
	// Artifact names the artifact, or ManifestName.
	Artifact string `json:"artifact"`
	// Want is the recorded value the reason is about (a hash or a size), if any.
	Want string `json:"want,omitempty"`
	// Got is the value found, if any.
	Got string `json:"got,omitempty"`
	// Reason says what is wrong: "sha256 mismatch", "missing", "size 10, want 12"...
	Reason string `json:"reason"`
}

// Verify re-reads every artifact listed in incidentID's manifest and
// recomputes its size and SHA-256, checks manifest.json's own hash against
// the "sealed" custody entry, and appends a "verified" or
// "verification-failed" custody entry naming actor. Mismatches are reported
// in the Verification; the error is for trouble reading the manifest (one
// wrapping ErrNoManifest if there is none), for ctx ending, and for a
// custody log that cannot be appended to. progress, if not nil, is called
// with bytes done and total as the artifacts are read.
func (s *Store) Verify(ctx context.Context, incidentID string, actor Actor, progress func(done, total int64)) (Verification, error) {
	if err := validateIncidentID(incidentID); err != nil {
		return Verification{}, err
	}
	data, err := s.readManifest(incidentID)
	if err != nil {
		return Verification{}, err
	}
	sum := sha256.Sum256(data)
	v := Verification{IncidentID: incidentID, ManifestSHA256: hex.EncodeToString(sum[:])}
	dir := s.Dir(incidentID)
	v.Problems = append(v.Problems, checkSealed(dir, v.ManifestSHA256)...)
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		v.Problems = append(v.Problems, Problem{Artifact: ManifestName, Reason: "invalid json: " + err.Error()})
	} else if err := s.checkArtifacts(ctx, dir, &m, &v, progress); err != nil {
		return Verification{}, fmt.Errorf("verify incident %q: %w", incidentID, err)
	}
	v.At = s.clock()
	if err := s.recordVerification(v, actor); err != nil {
		return v, fmt.Errorf("verify incident %q: %w", incidentID, err)
	}
	return v, nil
}

// checkSealed checks the custody log's hash chain and compares the
// manifest's hash with the newest "sealed" entry.
func checkSealed(dir, sum string) []Problem {
	chain, err := readChain(dir)
	var broken *ChainError
	switch {
	case errors.As(err, &broken):
		return []Problem{{Artifact: CustodyName, Reason: fmt.Sprintf("line %d: %s", broken.Line, broken.Reason)}}
	case err != nil:
		return []Problem{{Artifact: CustodyName, Reason: "unreadable: " + err.Error()}}
	}
	e, ok := lastSealed(chain.Entries)
	switch {
	case !ok:
		return []Problem{{Artifact: ManifestName, Got: sum, Reason: "no sealed custody entry"}}
	case e.SHA256 != sum:
		return []Problem{{Artifact: ManifestName, Want: e.SHA256, Got: sum, Reason: "sha256 mismatch"}}
	}
	return nil
}

// checkArtifacts verifies each artifact of m into v; it fails only when
// ctx ends.
func (s *Store) checkArtifacts(ctx context.Context, dir string, m *Manifest, v *Verification, progress func(done, total int64)) error {
	if m.IncidentID != v.IncidentID {
		v.Problems = append(v.Problems, Problem{Artifact: ManifestName, Want: v.IncidentID, Got: m.IncidentID, Reason: "incident id mismatch"})
	}
	var done, total int64
	for _, a := range m.Artifacts {
		total += max(a.Size, 0)
	}
	report := func(n int64) {
		done += n
		if progress != nil {
			progress(done, total)
		}
	}
	for _, a := range m.Artifacts {
		p, err := checkArtifact(ctx, dir, a, report)
		if err != nil {
			return err
		}
		if p != nil {
			v.Problems = append(v.Problems, *p)
		} else {
			v.Verified++
		}
	}
	return nil
}

// checkArtifact returns the problem with a, or nil; report is told of bytes
// read, and of the bytes of an artifact it could not read at all.
func checkArtifact(ctx context.Context, dir string, a Artifact, report func(int64)) (*Problem, error) {
	problem := func(reason string) (*Problem, error) {
		report(max(a.Size, 0))
		return &Problem{Artifact: a.Name, Reason: reason}, nil
	}
	if err := validateName(a.Path); err != nil {
		return problem("invalid path: " + err.Error())
	}
	path := artifactPath(dir, a.Path)
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return problem("missing")
	case err != nil:
		return problem("unreadable: " + err.Error())
	case !info.Mode().IsRegular():
		return problem("not a regular file")
	case info.Size() != a.Size:
		report(max(a.Size, 0))
		return &Problem{
			Artifact: a.Name,
			Want:     strconv.FormatInt(a.Size, 10),
			Got:      strconv.FormatInt(info.Size(), 10),
			Reason:   fmt.Sprintf("size %d, want %d", info.Size(), a.Size),
		}, nil
	}
	got, n, err := hashFile(ctx, path, report)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	switch {
	case err != nil:
		report(a.Size - n)
		return &Problem{Artifact: a.Name, Reason: "unreadable: " + err.Error()}, nil
	case n != a.Size:
		return &Problem{Artifact: a.Name, Reason: fmt.Sprintf("size %d, want %d", n, a.Size)}, nil
	case got != a.SHA256:
		return &Problem{Artifact: a.Name, Want: a.SHA256, Got: got, Reason: "sha256 mismatch"}, nil
	}
	return nil, nil
}

// hashFile returns the hex SHA-256 and length of the file at path, reading
// it in chunks while ctx is live.
func hashFile(ctx context.Context, path string, report func(int64)) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, copyChunk)
	var n int64
	for ctx.Err() == nil {
		k, err := f.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		report(int64(k))
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), n, nil
		}
		if err != nil {
			return "", n, err
		}
	}
	return "", n, ctx.Err()
}

// recordVerification appends the custody entry for v.
func (s *Store) recordVerification(v Verification, actor Actor) error {
	e := CustodyEntry{
		Time:     v.At,
		Action:   ActionVerified,
		Artifact: ManifestName,
		SHA256:   v.ManifestSHA256,
		Actor:    actor,
		Note:     fmt.Sprintf("%d artifacts intact", v.Verified),
	}
	if !v.OK() {
		e.Action = ActionVerificationFailed
		var b strings.Builder
		fmt.Fprintf(&b, "%d artifacts intact, %d problems:", v.Verified, len(v.Problems))
		for _, p := range v.Problems {
			fmt.Fprintf(&b, " %s: %s;", p.Artifact, p.Reason)
		}
		e.Note = strings.TrimSuffix(b.String(), ";")
	}
	inc := s.incident(v.IncidentID)
	inc.mu.Lock()
	defer inc.mu.Unlock()
	return appendChained(inc.dir, e)
}
