// Package audit keeps quell's audit log: one JSON line per change and per
// refusal, under the data directory, each line carrying the SHA-256 of the
// line before it and of itself, so that editing, removing, reordering or
// cutting lines is found by Verify.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// FileName is the audit log's name under the data directory.
const FileName = "audit.log"

// Genesis is the prev of the first line.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// maxField bounds each text field of an event: requests write them, and an
// attacker writes requests.
const maxField = 512

// Outcomes of an event.
const (
	// Accepted: the change was made.
	Accepted = "accepted"
	// Refused: the request was refused (no or bad credential, wrong role,
	// a decision naming someone else).
	Refused = "refused"
	// Failed: the change was asked for by someone allowed, and failed.
	Failed = "failed"
)

// Event is what happened: who asked, from where, to do what, and how it
// ended. Every field is text bounded to 512 bytes; no field may hold a
// secret.
type Event struct {
	// Time is when it happened; Append fills in the current time when zero.
	Time time.Time `json:"time"`
	// Principal is who asked, as their credential proves; empty when
	// there was no valid credential.
	Principal string `json:"principal,omitempty"`
	// Role is the principal's role.
	Role string `json:"role,omitempty"`
	// Via says how the principal was recognised (auth.Source*).
	Via string `json:"via,omitempty"`
	// Address is the request's source address.
	Address string `json:"address,omitempty"`
	// Action is what was asked, e.g. "alert.falco", "decision",
	// "token.create".
	Action string `json:"action"`
	// Incident is the incident concerned, if any.
	Incident string `json:"incident,omitempty"`
	// Step is the playbook step concerned, if any.
	Step string `json:"step,omitempty"`
	// Outcome is Accepted, Refused or Failed.
	Outcome string `json:"outcome"`
	// Reason says why, or what was decided.
	Reason string `json:"reason,omitempty"`
}

// Record is one line of the log: its place, the hash of the line before,
// the event, and the hash of the line itself without its hash field.
type Record struct {
	// Seq numbers the lines from 1.
	Seq uint64 `json:"seq"`
	// Prev is the SHA-256 of the previous line (without its newline), in
	// hexadecimal; Genesis for the first.
	Prev string `json:"prev"`
	Event
	// Hash is the SHA-256 of this line with the hash field left out.
	Hash string `json:"hash,omitempty"`
}

// bounded cuts every text field to maxField bytes at a character boundary.
func (e Event) bounded() Event {
	for _, f := range []*string{&e.Principal, &e.Role, &e.Via, &e.Address, &e.Action, &e.Incident, &e.Step, &e.Outcome, &e.Reason} {
		*f = cut(*f)
	}
	e.Time = e.Time.UTC()
	return e
}

func cut(s string) string {
	if len(s) <= maxField {
		return s
	}
	n := maxField - len("...")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// encode returns the line of r (without newline), its hash field filled.
func encode(r Record) ([]byte, error) {
	r.Hash = ""
	body, err := marshal(r)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	return append(body[:len(body)-1], fmt.Sprintf(`,"hash":"%s"}`, hex.EncodeToString(sum[:]))...), nil
}

// marshal is the canonical JSON of r: what encode writes and decode
// demands, byte for byte.
func marshal(r Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("audit record: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// hashSuffix is how every line ends: the hash field.
const hashSuffixLen = len(`,"hash":""}`) + 2*sha256.Size

// decode parses one line and checks it is what encode makes of it: its own
// hash, its canonical form. It returns the record.
func decode(line []byte) (Record, error) {
	if len(line) < hashSuffixLen || !bytes.HasPrefix(line[len(line)-hashSuffixLen:], []byte(`,"hash":"`)) || !bytes.HasSuffix(line, []byte(`"}`)) {
		return Record{}, errors.New("no hash field at the end of the line")
	}
	want := string(line[len(line)-hashSuffixLen+len(`,"hash":"`) : len(line)-2])
	body := append(bytes.Clone(line[:len(line)-hashSuffixLen]), '}')
	sum := sha256.Sum256(body)
	if got := hex.EncodeToString(sum[:]); got != want {
		return Record{}, fmt.Errorf("hash %s, but the line hashes to %s: the line was changed", short(want), short(got))
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("not an audit record: %v", err)
	}
	canon, err := marshal(r)
	if err != nil || !bytes.Equal(canon, body) {
		return Record{}, errors.New("not in canonical form: the line was changed")
	}
	r.Hash = want
	return r, nil
}

// lineHash is the SHA-256 of a whole line, which the next line's prev holds.
func lineHash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// short abbreviates a hash for messages.
func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "..."
	}
	return h
}
