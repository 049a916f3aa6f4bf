package evidence

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// Signing: once the manifest is sealed, the collector signs an in-toto
// statement over every artifact and the manifest itself, in a DSSE envelope
// written beside the manifest.
const (
	// EnvelopeName is the DSSE envelope's file name.
	EnvelopeName = "manifest.dsse.json"
	// PayloadType is the envelope's payload type: an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
	// PredicateType names quell's evidence predicate.
	PredicateType = "https://quell.dev/evidence/v1"
	// ActionSigned records the writing of the envelope, with its SHA-256.
	ActionSigned = "signed"
)

// Predicate is what the signed statement says about the evidence besides
// the artifacts' digests.
type Predicate struct {
	// Incident names the incident.
	Incident string `json:"incident"`
	// Target is the manifest's subject: container, image, node...
	Target map[string]string `json:"target,omitempty"`
	// CollectorHost is the host that collected and signed.
	CollectorHost string `json:"collector_host"`
	// QuellVersion is the collector's quell version.
	QuellVersion string `json:"quell_version"`
	// CustodyHead is the hex SHA-256 of the custody log's "sealed" line.
	CustodyHead string `json:"custody_head"`
	// CustodyLines counts the custody log's lines up to and with that one.
	CustodyLines int `json:"custody_lines"`
	// SignedAt is when the statement was signed, in UTC.
	SignedAt time.Time `json:"signed_at"`
}

// SetSigner makes the Store sign every manifest it seals with key.
func (s *Store) SetSigner(key ed25519.PrivateKey) {
	s.signer = key
}

// PublicKey returns the public half of the Store's signing key, or nil.
func (s *Store) PublicKey() ed25519.PublicKey {
	if s.signer == nil {
		return nil
	}
	return s.signer.Public().(ed25519.PublicKey)
}

// sign writes the envelope of the sealed manifest m, whose file holds
// manifest, unless the Store has no key or the envelope exists; the caller
// holds inc.mu.
func (f *Folder) sign(manifest []byte, m Manifest) error {
	key := f.store.signer
	path := filepath.Join(f.inc.dir, EnvelopeName)
	if key == nil {
		return nil
	}
	if _, err := os.Lstat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	chain, err := readChain(f.inc.dir)
	if err != nil {
		return fmt.Errorf("sign manifest: %w", err)
	}
	env, err := signStatement(key, manifest, m, chain, f.actor, f.store.clock())
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return fmt.Errorf("sign manifest: %w", err)
	}
	data = append(data, '\n')
	if err := writeOnce(path, data); err != nil {
		return fmt.Errorf("sign manifest: %w", err)
	}
	return f.appendCustody(CustodyEntry{
		Action: ActionSigned, Artifact: EnvelopeName, SHA256: lineDigest(data),
		Note: "ed25519 key " + KeyID(key.Public().(ed25519.PublicKey)),
	})
}

// signStatement signs the statement over manifest (parsed as m) and its
// artifacts, with the custody chain's head as it stands.
func signStatement(key ed25519.PrivateKey, manifest []byte, m Manifest, chain Chain, actor Actor, at time.Time) (*dsse.Envelope, error) {
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		PredicateType: PredicateType,
		Subject:       []*intoto.ResourceDescriptor{{Name: ManifestName, Digest: map[string]string{"sha256": lineDigest(manifest)}}},
	}
	for _, a := range m.Artifacts {
		st.Subject = append(st.Subject, &intoto.ResourceDescriptor{Name: a.Path, Digest: map[string]string{"sha256": a.SHA256}})
	}
	pred, err := json.Marshal(Predicate{
		Incident: m.IncidentID, Target: m.Subject, CollectorHost: actor.Host, QuellVersion: actor.Version,
		CustodyHead: chain.Head(), CustodyLines: len(chain.Digests), SignedAt: at,
	})
	if err != nil {
		return nil, fmt.Errorf("sign manifest: %w", err)
	}
	st.Predicate = &structpb.Struct{}
	if err := protojson.Unmarshal(pred, st.Predicate); err != nil {
		return nil, fmt.Errorf("sign manifest: predicate: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("sign manifest: statement: %w", err)
	}
	payload, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("sign manifest: statement: %w", err)
	}
	signer, err := dsse.NewEnvelopeSigner(edSigner{key: key})
	if err != nil {
		return nil, fmt.Errorf("sign manifest: %w", err)
	}
	env, err := signer.SignPayload(context.Background(), PayloadType, payload)
	if err != nil {
		return nil, fmt.Errorf("sign manifest: %w", err)
	}
	return env, nil
}

// edSigner signs and verifies DSSE envelopes with an Ed25519 key.
type edSigner struct {
	key ed25519.PrivateKey // nil when it only verifies
	pub ed25519.PublicKey
}

var _ dsse.SignerVerifier = edSigner{}

func (s edSigner) public() ed25519.PublicKey {
	if s.key != nil {
		return s.key.Public().(ed25519.PublicKey)
	}
	return s.pub
}

// Sign signs the DSSE pre-authentication encoding data.
func (s edSigner) Sign(_ context.Context, data []byte) ([]byte, error) {
	if s.key == nil {
		return nil, errors.New("no private key")
	}
	return ed25519.Sign(s.key, data), nil
}

// Verify checks sig over data.
func (s edSigner) Verify(_ context.Context, data, sig []byte) error {
	if !ed25519.Verify(s.public(), data, sig) {
		return errors.New("ed25519 signature does not verify")
	}
	return nil
}

// KeyID is the key's fingerprint.
func (s edSigner) KeyID() (string, error) { return KeyID(s.public()), nil }

// Public is the public key.
func (s edSigner) Public() crypto.PublicKey { return s.public() }

// Statement is a verified envelope's content.
type Statement struct {
	// Subjects maps each signed name to its hex SHA-256.
	Subjects map[string]string
	// Predicate is quell's predicate.
	Predicate Predicate
	// Signature is the envelope's raw signature: what the timestamp covers.
	Signature []byte
}

// openEnvelope checks the envelope in data against pub and returns what it
// signs.
func openEnvelope(data []byte, pub ed25519.PublicKey) (Statement, error) {
	var env dsse.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return Statement{}, fmt.Errorf("envelope: %w", err)
	}
	if env.PayloadType != PayloadType {
		return Statement{}, fmt.Errorf("envelope payload type %q, want %q", env.PayloadType, PayloadType)
	}
	if len(env.Signatures) != 1 {
		return Statement{}, fmt.Errorf("envelope has %d signatures, want 1", len(env.Signatures))
	}
	v, err := dsse.NewEnvelopeVerifier(edSigner{pub: pub})
	if err != nil {
		return Statement{}, err
	}
	if _, err := v.Verify(context.Background(), &env); err != nil {
		return Statement{}, fmt.Errorf("signature does not verify with key %s: %w", KeyID(pub), err)
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return Statement{}, fmt.Errorf("envelope payload: %w", err)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(payload, &st); err != nil {
		return Statement{}, fmt.Errorf("statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return Statement{}, fmt.Errorf("statement: %w", err)
	}
	if st.GetPredicateType() != PredicateType {
		return Statement{}, fmt.Errorf("statement predicate type %q, want %q", st.GetPredicateType(), PredicateType)
	}
	out := Statement{Subjects: make(map[string]string, len(st.GetSubject()))}
	for _, sub := range st.GetSubject() {
		out.Subjects[sub.GetName()] = sub.GetDigest()["sha256"]
	}
	pred, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return Statement{}, fmt.Errorf("statement predicate: %w", err)
	}
	if err := json.Unmarshal(pred, &out.Predicate); err != nil {
		return Statement{}, fmt.Errorf("statement predicate: %w", err)
	}
	out.Signature, err = b64(env.Signatures[0].Sig)
	if err != nil {
		return Statement{}, fmt.Errorf("envelope signature: %w", err)
	}
	return out, nil
}

// b64 decodes standard or URL-safe base64, as DSSE allows both.
func b64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.URLEncoding.DecodeString(s)
	}
	return b, err
}
