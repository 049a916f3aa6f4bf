package evidence

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
	// Results has one line per check, failed or passed, in the order made.
	Results []Result `json:"results,omitempty"`
	// Timestamped is the time the authority certified, when checked.
	Timestamped *time.Time `json:"timestamped,omitempty"`
}

// Result is one line of a verification: an artifact or one of the
// folder's own files, and what was found.
type Result struct {
	// Name is the artifact or file.
	Name string `json:"name"`
	// OK reports the check passed.
	OK bool `json:"ok"`
	// Detail says what was found.
	Detail string `json:"detail"`
}

// String is the line `quell evidence verify` prints.
func (r Result) String() string {
	status := "ok  "
	if !r.OK {
		status = "FAIL"
	}
	return status + " " + r.Name + ": " + r.Detail
}

// fail records p.
func (v *Verification) fail(p Problem) {
	v.Problems = append(v.Problems, p)
	v.Results = append(v.Results, Result{Name: p.Artifact, Detail: p.Reason})
}

// pass records a check that held.
func (v *Verification) pass(name, detail string) {
	v.Results = append(v.Results, Result{Name: name, OK: true, Detail: detail})
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

// Verify re-reads every artifact listed in incidentID's manifest, as
// VerifyDir does against the Store's own public key and timestamp
// authority, and appends a "verified" or "verification-failed" custody
// entry naming actor. Mismatches are reported in the Verification; the
// error is for trouble reading the manifest (one wrapping ErrNoManifest if
// there is none), for ctx ending, and for a custody log that cannot be
// appended to. progress, if not nil, is called with bytes done and total as
// the artifacts are read.
func (s *Store) Verify(ctx context.Context, incidentID string, actor Actor, progress func(done, total int64)) (Verification, error) {
	if err := validateIncidentID(incidentID); err != nil {
		return Verification{}, err
	}
	opts := VerifyOptions{PublicKey: s.PublicKey(), TSAChain: s.tsaChain, Progress: progress}
	v, err := VerifyDir(ctx, s.Dir(incidentID), incidentID, opts)
	if errors.Is(err, ErrNoManifest) {
		return Verification{}, fmt.Errorf("incident %q: %w", incidentID, ErrNoManifest)
	}
	if err != nil {
		return Verification{}, err
	}
	v.At = s.clock()
	if err := s.recordVerification(v, actor); err != nil {
		return v, fmt.Errorf("verify incident %q: %w", incidentID, err)
	}
	return v, nil
}

// VerifyOptions says what VerifyDir checks evidence against.
type VerifyOptions struct {
	// PublicKey is the collector's key: with one, the folder must hold an
	// envelope that it verifies; without, an envelope is not checked.
	PublicKey ed25519.PublicKey
	// TSAChain is the timestamp authority's PEM certificate chain, root
	// last; when empty, the folder's own tsa-chain.pem.
	TSAChain []byte
	// Progress, if not nil, is told of bytes read and the total.
	Progress func(done, total int64)
}

// VerifyDir checks the evidence folder dir offline, with no Store and no
// server: the signature over the statement, the timestamp token over the
// signature, the manifest against the custody log's "sealed" entry, the
// custody log's hash chain up to the signed head, and every artifact's size
// and SHA-256. incidentID, when not empty, must be the manifest's. It
// records nothing. Results has one line per check in that order, the
// artifacts last; the error is for a missing or unreadable manifest (one
// wrapping ErrNoManifest if there is none) and for ctx ending.
func VerifyDir(ctx context.Context, dir, incidentID string, opts VerifyOptions) (Verification, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return Verification{}, fmt.Errorf("evidence %s: %w", dir, ErrNoManifest)
	}
	if err != nil {
		return Verification{}, fmt.Errorf("evidence %s: %w", dir, err)
	}
	v := Verification{IncidentID: incidentID, ManifestSHA256: lineDigest(data)}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		v.fail(Problem{Artifact: ManifestName, Reason: "invalid json: " + err.Error()})
		return v, nil
	}
	if v.IncidentID == "" {
		v.IncidentID = m.IncidentID
	}
	chain, chainErr := readChain(dir)
	signed := v.checkSignature(dir, &m, chain, opts.PublicKey)
	v.checkTimestamp(dir, signed, opts.TSAChain)
	v.checkSealed(chain, chainErr)
	if signed != nil {
		v.checkHead(chain, chainErr, signed.Predicate)
	}
	if err := v.checkArtifacts(ctx, dir, &m, signed, opts.Progress); err != nil {
		return Verification{}, fmt.Errorf("verify evidence %s: %w", dir, err)
	}
	return v, nil
}

// checkSealed checks the custody log's hash chain and compares the
// manifest's hash with the newest "sealed" entry.
func (v *Verification) checkSealed(chain Chain, err error) {
	var broken *ChainError
	switch {
	case errors.As(err, &broken):
		v.fail(Problem{Artifact: CustodyName, Reason: fmt.Sprintf("line %d: %s", broken.Line, broken.Reason)})
	case err != nil:
		v.fail(Problem{Artifact: CustodyName, Reason: "unreadable: " + err.Error()})
	default:
		detail := fmt.Sprintf("%d lines, hash chain intact", len(chain.Entries))
		if chain.Unchained > 0 {
			detail += fmt.Sprintf(" (the first %d written before the chain, unchained)", chain.Unchained)
		}
		v.pass(CustodyName, detail)
	}
	e, ok := lastSealed(chain.Entries)
	switch {
	case !ok:
		v.fail(Problem{Artifact: ManifestName, Got: v.ManifestSHA256, Reason: "no sealed custody entry"})
	case e.SHA256 != v.ManifestSHA256:
		v.fail(Problem{Artifact: ManifestName, Want: e.SHA256, Got: v.ManifestSHA256, Reason: "sha256 mismatch"})
	default:
		v.pass(ManifestName, "sha256 "+v.ManifestSHA256+", as sealed")
	}
}

// checkArtifacts verifies each artifact of m into v; it fails only when
// ctx ends.
func (v *Verification) checkArtifacts(ctx context.Context, dir string, m *Manifest, signed *Statement, progress func(done, total int64)) error {
	if m.IncidentID != v.IncidentID {
		v.fail(Problem{Artifact: ManifestName, Want: v.IncidentID, Got: m.IncidentID, Reason: "incident id mismatch"})
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
		if p == nil && signed != nil && signed.Subjects[a.Path] != a.SHA256 {
			p = &Problem{Artifact: a.Name, Want: signed.Subjects[a.Path], Got: a.SHA256, Reason: "manifest sha256 is not the signed one"}
		}
		if p != nil {
			v.fail(*p)
		} else {
			v.Verified++
			v.pass(a.Name, fmt.Sprintf("sha256 %s, %d bytes", a.SHA256, a.Size))
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
