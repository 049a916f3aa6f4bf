package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// Values every Trivy alert shares.
const (
	// trivySource is the Source of alerts made from Trivy reports.
	trivySource = "trivy"
	// trivyRule is the Rule of alerts made from Trivy reports.
	trivyRule = "vulnerable-image"
	// trivySchema is the only report SchemaVersion ParseTrivy reads.
	trivySchema = 2
	// trivyImage is the ArtifactType of a container image scan.
	trivyImage = "container_image"
)

// trivyImageID is the form of a Docker image ID, by which quell names images.
var trivyImageID = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// trivyReport is the part of a Trivy JSON report (SchemaVersion 2) that
// quell reads; other keys are ignored.
type trivyReport struct {
	SchemaVersion *int          `json:"SchemaVersion"`
	ReportID      string        `json:"ReportID"`
	CreatedAt     string        `json:"CreatedAt"`
	ArtifactName  string        `json:"ArtifactName"`
	ArtifactType  string        `json:"ArtifactType"`
	Metadata      trivyMetadata `json:"Metadata"`
	Results       []trivyResult `json:"Results"`
}

// trivyMetadata describes the scanned image.
type trivyMetadata struct {
	OS          *trivyOS `json:"OS"`
	ImageID     string   `json:"ImageID"`
	RepoTags    []string `json:"RepoTags"`
	RepoDigests []string `json:"RepoDigests"`
	Reference   string   `json:"Reference"`
}

// trivyOS is the operating system Trivy found in the image.
type trivyOS struct {
	Family string `json:"Family"`
	Name   string `json:"Name"`
	EOSL   bool   `json:"EOSL"`
}

// trivyResult is one scan target within the image: its OS packages, or a
// language's packages.
type trivyResult struct {
	Target          string                `json:"Target"`
	Vulnerabilities []*trivyVulnerability `json:"Vulnerabilities"`
}

// trivyVulnerability is one finding.
type trivyVulnerability struct {
	VulnerabilityID  string `json:"VulnerabilityID"`
	PkgName          string `json:"PkgName"`
	InstalledVersion string `json:"InstalledVersion"`
	FixedVersion     string `json:"FixedVersion"`
	Severity         string `json:"Severity"`
	Title            string `json:"Title"`
}

// ParseTrivy reads one Trivy JSON report of a container image scan
// (SchemaVersion 2, as `trivy image --format json` writes it) and
// normalises it into an alert about the image, with a summary of its
// vulnerabilities. Every error starts with "trivy report: ". The image ID
// (Metadata.ImageID) and name (ArtifactName) are required; unknown keys
// are ignored.
func ParseTrivy(body []byte, receivedAt time.Time) (alert.Alert, error) {
	rep, err := decodeTrivy(body)
	if err != nil {
		return alert.Alert{}, err
	}
	if err := rep.check(); err != nil {
		return alert.Alert{}, err
	}
	t, err := rep.time(receivedAt)
	if err != nil {
		return alert.Alert{}, err
	}
	vulns := summarizeTrivy(rep.Results)
	sum := sha256.Sum256(body)
	return alert.Alert{
		Source:      trivySource,
		EventSource: rep.ArtifactType,
		DetectorID:  rep.ReportID,
		Rule:        trivyRule,
		Priority:    trivyPriority(highestTrivySeverity(vulns)),
		Time:        t,
		Output:      trivyOutput(rep.ArtifactName, vulns),
		Fields:      rep.fields(vulns),
		Target: alert.Target{
			Kind:        alert.KindImage,
			Image:       rep.ArtifactName,
			ImageID:     rep.Metadata.ImageID,
			RepoTags:    trivyList(rep.Metadata.RepoTags),
			RepoDigests: trivyList(rep.Metadata.RepoDigests),
		},
		Digest:          "sha256:" + hex.EncodeToString(sum[:]),
		ReceivedAt:      receivedAt.UTC(),
		Vulnerabilities: vulns,
	}, nil
}

// decodeTrivy decodes body as exactly one JSON object into a report.
func decodeTrivy(body []byte) (trivyReport, error) {
	var rep trivyReport
	if len(bytes.Trim(body, jsonSpace)) == 0 {
		return rep, errors.New("trivy report: empty body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return rep, fmt.Errorf("trivy report: invalid JSON at offset %d: %w", syntax.Offset, err)
		}
		return rep, fmt.Errorf("trivy report: invalid JSON: %w", err)
	}
	if t := trivyJSONType(raw); t != "object" {
		return rep, fmt.Errorf("trivy report: invalid JSON: want an object, got %s", t)
	}
	end := dec.InputOffset()
	if rest := bytes.TrimLeft(body[end:], jsonSpace); len(rest) > 0 {
		return rep, fmt.Errorf("trivy report: invalid JSON at offset %d: data after the object", len(body)-len(rest))
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return trivyReport{}, fmt.Errorf("trivy report: %s: want %s, got %s", typ.Field, trivyWant(typ.Type), typ.Value)
		}
		return trivyReport{}, fmt.Errorf("trivy report: invalid JSON: %w", err)
	}
	return rep, nil
}

// trivyJSONType names the JSON type of a raw value from its first byte.
func trivyJSONType(raw []byte) string {
	raw = bytes.TrimLeft(raw, jsonSpace)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// trivyWant names the JSON value a Go type of the report wants.
func trivyWant(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return trivyWant(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Bool:
		return "a bool"
	case reflect.Slice:
		return "an array"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}

// check refuses reports of another schema or artifact type, and reports
// that lack what names the image.
func (r trivyReport) check() error {
	if r.SchemaVersion == nil {
		return fmt.Errorf("trivy report: missing SchemaVersion (want %d)", trivySchema)
	}
	if *r.SchemaVersion != trivySchema {
		return fmt.Errorf("trivy report: unsupported SchemaVersion %d (want %d)", *r.SchemaVersion, trivySchema)
	}
	if r.ArtifactType != "" && r.ArtifactType != trivyImage {
		return fmt.Errorf("trivy report: artifact type %q is not a container image", r.ArtifactType)
	}
	var missing []string
	for _, f := range []struct{ key, value string }{
		{"ArtifactName", r.ArtifactName},
		{"ArtifactType", r.ArtifactType},
		{"Metadata.ImageID", r.Metadata.ImageID},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.key)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("trivy report: missing %s", strings.Join(missing, ", "))
	}
	if !trivyImageID.MatchString(r.Metadata.ImageID) {
		return fmt.Errorf("trivy report: invalid Metadata.ImageID %q (want sha256: and 64 hex digits)", r.Metadata.ImageID)
	}
	return nil
}

// time returns when the report was made, in UTC: CreatedAt, or receivedAt
// when the report has none (or Go's zero time, as older Trivy wrote).
func (r trivyReport) time(receivedAt time.Time) (time.Time, error) {
	if strings.TrimSpace(r.CreatedAt) == "" {
		return receivedAt.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, r.CreatedAt)
	if err != nil {
		return time.Time{}, fmt.Errorf("trivy report: invalid CreatedAt %q (want RFC 3339)", r.CreatedAt)
	}
	if t.IsZero() {
		return receivedAt.UTC(), nil
	}
	if t = t.UTC(); t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("trivy report: CreatedAt %q out of range", r.CreatedAt)
	}
	return t, nil
}

// fields returns the scalars a playbook's required_fields may name:
// image.id, image.name, image.reference, os.family, os.name, os.eosl
// (present only when true), vulnerabilities.total,
// vulnerabilities.fixable and vulnerabilities.max_severity (present only
// when there are findings). Empty strings are left out.
func (r trivyReport) fields(v *alert.Vulnerabilities) map[string]any {
	total, fixable := 0, 0
	for _, sev := range alert.Severities {
		total += v.Counts[sev]
		fixable += v.Fixable[sev]
	}
	out := map[string]any{
		"vulnerabilities.total":   int64(total),
		"vulnerabilities.fixable": int64(fixable),
	}
	put := func(key, value string) {
		if value != "" {
			out[key] = value
		}
	}
	put("image.id", r.Metadata.ImageID)
	put("image.name", r.ArtifactName)
	put("image.reference", r.Metadata.Reference)
	if total > 0 {
		put("vulnerabilities.max_severity", highestTrivySeverity(v))
	}
	if o := r.Metadata.OS; o != nil {
		put("os.family", o.Family)
		put("os.name", o.Name)
		if o.EOSL {
			out["os.eosl"] = true
		}
	}
	return out
}

// trivyList returns nil for an empty slice and s otherwise, so that the
// alert round-trips through JSON unchanged.
func trivyList(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
