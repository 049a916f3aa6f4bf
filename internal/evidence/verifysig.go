package evidence

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// checkSignature verifies the envelope in dir against pub and the manifest
// against the statement; it returns the statement when the signature holds.
func (v *Verification) checkSignature(dir string, m *Manifest, chain Chain, pub ed25519.PublicKey) *Statement {
	data, err := os.ReadFile(filepath.Join(dir, EnvelopeName))
	switch {
	case pub == nil && errors.Is(err, fs.ErrNotExist):
		return nil
	case pub == nil:
		v.pass(EnvelopeName, "signature not checked: no public key given")
		return nil
	case errors.Is(err, fs.ErrNotExist):
		v.fail(Problem{Artifact: EnvelopeName, Reason: "missing: the manifest is not signed"})
		return nil
	case err != nil:
		v.fail(Problem{Artifact: EnvelopeName, Reason: "unreadable: " + err.Error()})
		return nil
	}
	st, err := openEnvelope(data, pub)
	if err != nil {
		v.fail(Problem{Artifact: EnvelopeName, Reason: err.Error()})
		return nil
	}
	fail := func(p Problem) *Statement {
		p.Artifact = EnvelopeName
		v.fail(p)
		return nil
	}
	if got := st.Subjects[ManifestName]; got != v.ManifestSHA256 {
		return fail(Problem{Want: got, Got: v.ManifestSHA256, Reason: fmt.Sprintf("signature does not cover this manifest: its sha256 %s is not the signed %s", v.ManifestSHA256, got)})
	}
	if st.Predicate.Incident != m.IncidentID {
		return fail(Problem{Want: m.IncidentID, Got: st.Predicate.Incident, Reason: "signed for incident " + st.Predicate.Incident})
	}
	if len(st.Subjects) != len(m.Artifacts)+1 {
		return fail(Problem{Reason: fmt.Sprintf("signed %d subjects, the manifest lists %d artifacts and itself", len(st.Subjects), len(m.Artifacts))})
	}
	v.pass(EnvelopeName, fmt.Sprintf("signed by ed25519 key %s on %s at %s, %d subjects",
		KeyID(pub), st.Predicate.CollectorHost, st.Predicate.SignedAt.UTC().Format(time.RFC3339), len(st.Subjects)))
	return &st
}

// checkHead checks that the signed custody head is a line of the chain.
func (v *Verification) checkHead(chain Chain, chainErr error, p Predicate) {
	if chainErr != nil {
		return // the chain's own problem is reported
	}
	n := chain.Find(p.CustodyHead)
	switch {
	case n == 0:
		v.fail(Problem{Artifact: CustodyName, Want: p.CustodyHead, Reason: "the signed head (line " + fmt.Sprint(p.CustodyLines) + ") is not in the log: lines up to it were rewritten"})
	case n != p.CustodyLines:
		v.fail(Problem{Artifact: CustodyName, Reason: fmt.Sprintf("the signed head is line %d, signed as line %d: lines before it were removed or added", n, p.CustodyLines)})
	default:
		v.pass(CustodyName, fmt.Sprintf("lines 1-%d are the ones signed", n))
	}
}

// checkTimestamp checks the token over the signature against chain, or the
// folder's own tsa-chain.pem.
func (v *Verification) checkTimestamp(dir string, signed *Statement, chain []byte) {
	token, err := os.ReadFile(filepath.Join(dir, TimestampName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if signed != nil {
			v.pass(TimestampName, "missing: the signature has no trusted timestamp yet")
		}
		return
	case err != nil:
		v.fail(Problem{Artifact: TimestampName, Reason: "unreadable: " + err.Error()})
		return
	case signed == nil:
		v.pass(TimestampName, "not checked: the signature was not verified")
		return
	}
	source := "the authority chain given"
	if len(chain) == 0 {
		source = "the folder's " + TSAChainName
		if chain, err = os.ReadFile(filepath.Join(dir, TSAChainName)); err != nil {
			v.fail(Problem{Artifact: TimestampName, Reason: "no authority chain to check it against: " + err.Error()})
			return
		}
	}
	ts, err := checkToken(token, signed.Signature, chain)
	if err != nil {
		v.fail(Problem{Artifact: TimestampName, Reason: err.Error()})
		return
	}
	at := ts.Time.UTC()
	v.Timestamped = &at
	v.pass(TimestampName, fmt.Sprintf("signature timestamped at %s by %s, checked against %s", at.Format(time.RFC3339), tokenSigner(ts).Subject, source))
}
