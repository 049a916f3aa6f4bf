package evidence

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// A bundle is one tar an auditor takes away, its entries under
// quell-evidence-<incident>/:
//
//	evidence/...        the incident's folder: artifacts, manifest, custody log, envelope, token, authority chain
//	evidence-key.pem    the collector's public key
//	report/...          the incident's report files, if any
//	README.txt          how to verify it
//	SHA256SUMS          every other file's SHA-256, for sha256sum -c
const (
	// ActionBundled records that the evidence was packed into a bundle.
	ActionBundled = "bundled"
	// BundleKeyName is the public key's name in a bundle.
	BundleKeyName = "evidence-key.pem"
	// BundleSumsName is the checksum list's name in a bundle.
	BundleSumsName = "SHA256SUMS"
	// bundleEvidence and bundleReport are the folders' names in a bundle.
	bundleEvidence = "evidence"
	bundleReport   = "report"
)

// BundleRoot is the top folder of incidentID's bundle.
func BundleRoot(incidentID string) string { return "quell-evidence-" + incidentID }

// Bundle writes incidentID's sealed evidence as a tar to w, with pub (if
// not nil), the incident's report files from reportsDir (<id>.md,
// <id>.json, ...; none if reportsDir is empty) and a README. First it
// records the read in the custody log, naming actor and note, so the
// bundle carries the line that says who took it.
func (s *Store) Bundle(incidentID string, w io.Writer, pub ed25519.PublicKey, reportsDir string, actor Actor, note string) error {
	if err := validateIncidentID(incidentID); err != nil {
		return err
	}
	if _, err := s.readManifest(incidentID); err != nil {
		return err
	}
	var reports []string
	if reportsDir != "" {
		// The ID is validated: no glob metacharacter reaches the pattern.
		var err error
		if reports, err = filepath.Glob(filepath.Join(reportsDir, incidentID+".*")); err != nil {
			return err
		}
	}
	if err := s.RecordRead(incidentID, ActionBundled, actor, note); err != nil {
		return err
	}
	dir := s.Dir(incidentID)
	b := &bundle{tw: tar.NewWriter(w), root: BundleRoot(incidentID), at: s.clock()}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") { // the journal and temporary files
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return b.addFile(path.Join(bundleEvidence, filepath.ToSlash(rel)), p)
	})
	if err == nil && pub != nil {
		err = b.add(BundleKeyName, MarshalPublicKey(pub))
	}
	for _, r := range reports {
		if err == nil {
			err = b.addFile(path.Join(bundleReport, filepath.Base(r)), r)
		}
	}
	if err == nil {
		err = b.add("README.txt", []byte(readme(incidentID, pub)))
	}
	if err == nil {
		err = b.add(BundleSumsName, b.sums())
	}
	if err == nil {
		err = b.tw.Close()
	}
	if err != nil {
		return fmt.Errorf("bundle incident %q: %w", incidentID, err)
	}
	return nil
}

// RecordRead appends a custody entry saying actor read incidentID's
// evidence, with action (ActionBundled, say) and note.
func (s *Store) RecordRead(incidentID, action string, actor Actor, note string) error {
	if err := validateIncidentID(incidentID); err != nil {
		return err
	}
	inc := s.incident(incidentID)
	inc.mu.Lock()
	defer inc.mu.Unlock()
	e := CustodyEntry{Time: s.clock(), Action: action, Artifact: ManifestName, Actor: actor, Note: note}
	if err := appendChained(inc.dir, e); err != nil {
		return fmt.Errorf("incident %q: %w", incidentID, err)
	}
	return nil
}

// bundle is a tar being written, with the hashes of what it holds.
type bundle struct {
	tw     *tar.Writer
	root   string
	at     time.Time
	hashed []string // "<hash>  <name>" lines, as sha256sum writes them
}

// addFile streams src into the bundle as name, hashing it on the way: an
// artifact may be a filesystem snapshot of gigabytes.
func (b *bundle) addFile(name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	return b.write(name, info.Size(), f)
}

func (b *bundle) add(name string, data []byte) error {
	return b.write(name, int64(len(data)), bytes.NewReader(data))
}

func (b *bundle) write(name string, size int64, r io.Reader) error {
	hdr := &tar.Header{Name: b.root + "/" + name, Mode: 0o444, Size: size, ModTime: b.at, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := b.tw.WriteHeader(hdr); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(b.tw, io.TeeReader(io.LimitReader(r, size), h))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if n != size {
		// Evidence is write-once: a file that shrank while it was read
		// is tampering or damage, never something to pack quietly.
		return fmt.Errorf("%s: %d bytes read, %d expected", name, n, size)
	}
	if name != BundleSumsName {
		b.hashed = append(b.hashed, hex.EncodeToString(h.Sum(nil))+"  "+name+"\n")
	}
	return nil
}

// sums is the SHA256SUMS file.
func (b *bundle) sums() []byte { return []byte(strings.Join(b.hashed, "")) }

// readme tells an auditor how to check the bundle.
func readme(incidentID string, pub ed25519.PublicKey) string {
	key := "(no key: the evidence was not signed)"
	if pub != nil {
		key = KeyID(pub)
	}
	return fmt.Sprintf(`Evidence of quell incident %[1]s

evidence/          the artifacts as collected, write-once, with
  manifest.json      every artifact's size and SHA-256, sealed
  custody.log        the chain of custody; each line carries the SHA-256 of the one before
  manifest.dsse.json an in-toto statement over every artifact and the manifest, in a DSSE
                     envelope signed with the collector's Ed25519 key
  manifest.dsse.tsr  an RFC 3161 timestamp of that signature, if the authority answered
  tsa-chain.pem      the timestamp authority's certificate chain
evidence-key.pem   the collector's public key, fingerprint (SHA-256 of its DER) %[2]s
report/            the incident's report
SHA256SUMS         the SHA-256 of every file here but itself

To check the hashes alone, from this folder:

    sha256sum -c SHA256SUMS

To check everything (hashes, signature, timestamp, custody chain) offline,
with no quell server running:

    quell evidence verify --key KEY.pem %[3]s.tar

where KEY.pem is the collector's public key obtained from its operator
(`+"`quell evidence pubkey`"+` on the collector), not only the copy in this bundle;
compare its fingerprint with the one above. Add --tsa-chain CHAIN.pem to check
the timestamp against the authority's chain you trust rather than the copy here.
quell evidence verify prints one line per check and exits non-zero naming the
first failure.
`, incidentID, key, BundleRoot(incidentID))
}

// maxBundleFile bounds one file unpacked from a bundle.
const maxBundleFile = 64 << 30

// Unpack extracts the bundle read from r into dir, refusing any entry that
// is not a regular file or directory under the bundle's one top folder
// (quell-evidence-<incident>), and returns the path of the bundle's
// evidence folder and the public key it carries (nil if none). A bundle is
// read as hostile: it comes from outside.
func Unpack(r io.Reader, dir string) (string, ed25519.PublicKey, error) {
	tr := tar.NewReader(r)
	var root string
	var pub ed25519.PublicKey
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, fmt.Errorf("bundle: %w", err)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		top, rest, _ := strings.Cut(name, "/")
		switch {
		case !fs.ValidPath(name) || strings.Contains(name, "\\"):
			return "", nil, fmt.Errorf("bundle: entry %q: not a clean relative path", hdr.Name)
		case !strings.HasPrefix(top, BundleRoot("")) || validateIncidentID(strings.TrimPrefix(top, BundleRoot(""))) != nil:
			return "", nil, fmt.Errorf("bundle: entry %q: not under a %s<incident> folder", hdr.Name, BundleRoot(""))
		case root != "" && top != root:
			return "", nil, fmt.Errorf("bundle: entry %q outside the top folder %q", hdr.Name, root)
		case hdr.Typeflag == tar.TypeDir:
			continue
		case hdr.Typeflag != tar.TypeReg:
			return "", nil, fmt.Errorf("bundle: entry %q: not a regular file", hdr.Name)
		case rest == "":
			return "", nil, fmt.Errorf("bundle: entry %q: a file where the top folder goes", hdr.Name)
		case hdr.Size > maxBundleFile:
			return "", nil, fmt.Errorf("bundle: entry %q: %d bytes, more than a bundle holds", hdr.Name, hdr.Size)
		}
		root = top
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return "", nil, err
		}
		// O_EXCL: an entry named twice is refused, not overwritten.
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if err != nil {
			return "", nil, fmt.Errorf("bundle: entry %q: %w", hdr.Name, err)
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", nil, fmt.Errorf("bundle: entry %q: %w", hdr.Name, err)
		}
		if rest == BundleKeyName {
			data, err := os.ReadFile(dst)
			if err != nil {
				return "", nil, err
			}
			if pub, err = ParsePublicKey(data); err != nil {
				return "", nil, fmt.Errorf("bundle: %s: %w", BundleKeyName, err)
			}
		}
	}
	if root == "" {
		return "", nil, errors.New("bundle: empty")
	}
	ev := filepath.Join(dir, root, bundleEvidence)
	if _, err := os.Stat(filepath.Join(ev, ManifestName)); err != nil {
		return "", nil, fmt.Errorf("bundle: no %s/%s: %w", bundleEvidence, ManifestName, ErrNoManifest)
	}
	return ev, pub, nil
}
