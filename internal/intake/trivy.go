package intake

import (
	"errors"
	"fmt"
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

// trivyPayload names Trivy reports in errors.
const trivyPayload = "trivy report"

// ParseTrivy reads one Trivy JSON report of a container image scan
// (SchemaVersion 2, as `trivy image --format json` writes it) and
// normalises it into an alert about the image, with a summary of its
// vulnerabilities. The image ID (Metadata.ImageID) and name (ArtifactName)
// are required; unknown keys are ignored. Errors are *Error values with
// Payload "trivy report".
//
// However many findings a report holds, the alert keeps a bounded summary:
// counts by severity, the MaxTopVulnerabilities most severe findings with
// their text cut (MaxShortText, MaxTitle), at most MaxImageNames repo tags
// and digests; a report is never refused for its size. The target's Image
// is the first of ArtifactName, Metadata.Reference and the first repo tag
// that is an image reference (ArtifactName may be a tarball's path);
// repo tags and digests must be references.
func ParseTrivy(body []byte, receivedAt time.Time) (alert.Alert, error) {
	var rep trivyReport
	if err := decodeBody(trivyPayload, body, &rep, false); err != nil {
		return alert.Alert{}, err
	}
	if err := rep.check(); err != nil {
		return alert.Alert{}, err
	}
	t, err := rep.time(receivedAt)
	if err != nil {
		return alert.Alert{}, err
	}
	target, err := rep.target()
	if err != nil {
		return alert.Alert{}, err
	}
	k := &keeper{}
	vulns := summarizeTrivy(rep.Results)
	keepTop(vulns, k)
	a := alert.Alert{
		Source:          trivySource,
		EventSource:     rep.ArtifactType,
		Rule:            trivyRule,
		Priority:        trivyPriority(highestTrivySeverity(vulns)),
		Time:            t,
		Output:          k.text("output", trivyOutput(rep.ArtifactName, vulns), MaxOutput),
		Target:          target,
		Digest:          digest(body),
		ReceivedAt:      receivedAt.UTC(),
		Vulnerabilities: vulns,
	}
	if rep.ReportID != "" {
		a.DetectorID = k.text("detector_id", rep.ReportID, MaxShortText)
		if idPattern.MatchString(rep.ReportID) {
			a.IdempotencyKey = "trivy/" + rep.ReportID
		}
	}
	a.Fields = rep.fields(vulns, k)
	a.Target.RepoTags = keepNames(k, "target.repo_tags", a.Target.RepoTags)
	a.Target.RepoDigests = keepNames(k, "target.repo_digests", a.Target.RepoDigests)
	if err := k.fit(trivyPayload, jsonSize(a.Fields)); err != nil {
		return alert.Alert{}, err
	}
	k.finish(&a)
	return a, nil
}

// target names the scanned image: its ID, the first name that is an image
// reference, and its repo tags and digests, each checked.
func (r trivyReport) target() (alert.Target, error) {
	t := alert.Target{
		Kind:        alert.KindImage,
		ImageID:     r.Metadata.ImageID,
		RepoTags:    trivyList(r.Metadata.RepoTags),
		RepoDigests: trivyList(r.Metadata.RepoDigests),
	}
	var errs []error
	for _, list := range []struct {
		field string
		refs  []string
	}{{"Metadata.RepoTags", t.RepoTags}, {"Metadata.RepoDigests", t.RepoDigests}} {
		for i, ref := range list.refs {
			if _, err := checkImage(ref); err != nil {
				errs = append(errs, fieldProblem(trivyPayload, fmt.Sprintf("%s[%d]", list.field, i), "%v", err))
			}
		}
	}
	if len(errs) > 0 {
		return alert.Target{}, errors.Join(errs...)
	}
	for _, ref := range append([]string{r.ArtifactName, r.Metadata.Reference}, t.RepoTags...) {
		if _, err := checkImage(ref); ref != "" && err == nil {
			t.Image = ref
			break
		}
	}
	return t, nil
}

// keepNames keeps at most MaxImageNames of an image's names, recording a
// cut of the list under field.
func keepNames(k *keeper, field string, names []string) []string {
	if len(names) <= MaxImageNames {
		return names
	}
	k.cutList(field, names)
	return names[:MaxImageNames:MaxImageNames]
}

// check refuses reports of another schema or artifact type, and reports
// that lack what names the image.
func (r trivyReport) check() error {
	if r.SchemaVersion == nil {
		return problem(trivyPayload, "missing SchemaVersion (want %d)", trivySchema)
	}
	if *r.SchemaVersion != trivySchema {
		return namedProblem(trivyPayload, "SchemaVersion", "unsupported SchemaVersion %d (want %d)", *r.SchemaVersion, trivySchema)
	}
	if r.ArtifactType != "" && r.ArtifactType != trivyImage {
		return namedProblem(trivyPayload, "ArtifactType", "artifact type %s is not a container image", quote(r.ArtifactType))
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
		return problem(trivyPayload, "missing %s", strings.Join(missing, ", "))
	}
	if !trivyImageID.MatchString(r.Metadata.ImageID) {
		return namedProblem(trivyPayload, "Metadata.ImageID", "invalid Metadata.ImageID %s (want sha256: and 64 hex digits)",
			quote(r.Metadata.ImageID))
	}
	return nil
}

// time returns when the report was made, in UTC: CreatedAt, or receivedAt
// when the report has none (or Go's zero time, as older Trivy wrote).
func (r trivyReport) time(receivedAt time.Time) (time.Time, error) {
	if strings.TrimSpace(r.CreatedAt) == "" {
		return receivedAt.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, r.CreatedAt); err == nil && t.IsZero() {
		return receivedAt.UTC(), nil
	}
	return parseTime(trivyPayload, "CreatedAt", r.CreatedAt)
}

// fields returns the scalars a playbook's required_fields may name:
// image.id, image.name, image.reference, os.family, os.name, os.eosl
// (present only when true), vulnerabilities.total,
// vulnerabilities.fixable and vulnerabilities.max_severity (present only
// when there are findings). Empty strings are left out; the others are
// kept safe and cut (os.* to MaxShortText).
func (r trivyReport) fields(v *alert.Vulnerabilities, k *keeper) map[string]any {
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
			k.value(fmt.Sprintf("fields[%q]", key), value, func(s string) { out[key] = s })
		}
	}
	put("image.id", r.Metadata.ImageID)
	put("image.name", r.ArtifactName)
	put("image.reference", r.Metadata.Reference)
	if total > 0 {
		put("vulnerabilities.max_severity", highestTrivySeverity(v))
	}
	if o := r.Metadata.OS; o != nil {
		put("os.family", k.text(`fields["os.family"]`, o.Family, MaxShortText))
		put("os.name", k.text(`fields["os.name"]`, o.Name, MaxShortText))
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
