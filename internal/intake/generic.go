package intake

import (
	_ "embed"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// AlertSchema is the JSON Schema (draft 2020-12) of quell's own alert
// format, which ParseGeneric reads; the API serves it at
// /v1/schema/alert.json. Its examples parse.
//
//go:embed schema/alert.json
var AlertSchema []byte

// genericPayload names alerts in quell's own format in errors.
const genericPayload = "alert"

// reservedSources are the sources quell's own parsers set; a sender of
// quell's format may not claim them, so that a playbook for Falco never
// answers an alert that did not come through Falco's intake.
var reservedSources = []string{"falco", "trivy", amSource}

// genericPriorities are the priority names quell's format takes.
var genericPriorities = []string{"debug", "info", "informational", "notice", "warn", "warning", "error",
	"critical", "alert", "emergency"}

// genericAlert is quell's own alert format (schema/alert.json). Keys are
// decoded strictly: an unknown key is an error.
type genericAlert struct {
	Source   string         `json:"source"`
	ID       string         `json:"id"`
	Rule     string         `json:"rule"`
	Priority string         `json:"priority"`
	Time     string         `json:"time"`
	Output   string         `json:"output"`
	Tags     any            `json:"tags"`
	Fields   any            `json:"fields"`
	Labels   map[string]any `json:"labels"`
	Target   *genericTarget `json:"target"`
}

// genericTarget is the unit an alert in quell's format names.
type genericTarget struct {
	Kind          string `json:"kind"`
	Host          string `json:"host"`
	Cluster       string `json:"cluster"`
	ContainerID   string `json:"container_id"`
	ContainerName string `json:"container_name"`
	Image         string `json:"image"`
	ImageID       string `json:"image_id"`
	Namespace     string `json:"namespace"`
	Pod           string `json:"pod"`
}

// ParseGeneric reads one alert in quell's own format (AlertSchema), for
// detectors quell has no parser of its own for, and normalises it. The
// source, rule and priority are required; time defaults to receivedAt;
// unknown keys are errors and JSON nulls count as absent. The source must
// match ^[a-z0-9][a-z0-9._-]{0,62}$ and not be one quell's own parsers
// set (falco, trivy, alertmanager). With an id, IdempotencyKey is
// "<source>/<id>".
//
// The target's kind may be left out: a namespace and a pod make a pod, a
// container ID or name a container. Every name is validated; free text is
// escaped and cut (see the package doc). Errors are *Error values with
// Payload "alert", joined when there are several.
func ParseGeneric(body []byte, receivedAt time.Time) (alert.Alert, error) {
	var in genericAlert
	if err := decodeBody(genericPayload, body, &in, true); err != nil {
		return alert.Alert{}, err
	}
	k := &keeper{}
	a := alert.Alert{Digest: digest(body), ReceivedAt: receivedAt.UTC(), Time: receivedAt.UTC()}
	errs := []error{in.required(&a, k)}
	if in.ID != "" {
		if !idPattern.MatchString(in.ID) {
			errs = append(errs, fieldProblem(genericPayload, "id", "%s is not an ID (want %s)", quote(in.ID), idPattern))
		}
		a.DetectorID, a.IdempotencyKey = in.ID, in.Source+"/"+in.ID
	}
	if in.Time != "" {
		t, err := parseTime(genericPayload, "time", in.Time)
		a.Time = t
		errs = append(errs, err)
	}
	a.Output = k.text("output", in.Output, MaxOutput)
	var err error
	a.Tags, err = readTags(genericPayload, "tags", in.Tags, k)
	errs = append(errs, err)
	a.Fields, err = convertFields(genericPayload, "fields", in.Fields, k)
	errs = append(errs, err)
	labels, err := stringMap(genericPayload, "labels", in.Labels, MaxLabels)
	errs = append(errs, err)
	a.Target, err = in.target()
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return alert.Alert{}, err
	}
	a.Labels = keepStrings(k, "labels", labels)
	if err := k.fit(genericPayload, jsonSize(a.Fields, a.Labels)); err != nil {
		return alert.Alert{}, err
	}
	k.finish(&a)
	return a, nil
}

// required sets the source, rule and priority, naming every missing one
// in one error joined with an error for each invalid one.
func (in genericAlert) required(a *alert.Alert, k *keeper) error {
	var missing []string
	var errs []error
	for _, f := range []struct{ key, value string }{{"source", in.Source}, {"rule", in.Rule}, {"priority", in.Priority}} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.key)
		}
	}
	if len(missing) > 0 {
		errs = append(errs, problem(genericPayload, "missing %s", strings.Join(missing, ", ")))
	}
	switch {
	case in.Source == "":
	case !sourcePattern.MatchString(in.Source):
		errs = append(errs, fieldProblem(genericPayload, "source", "%s is not a source (want %s)", quote(in.Source), sourcePattern))
	case slices.Contains(reservedSources, in.Source):
		errs = append(errs, fieldProblem(genericPayload, "source", "%q is reserved for quell's own %s intake", in.Source, in.Source))
	}
	a.Source = in.Source
	a.Rule = k.text("rule", in.Rule, MaxRule)
	if in.Priority != "" {
		p, err := alert.ParsePriority(in.Priority)
		if err != nil || !slices.Contains(genericPriorities, in.Priority) {
			errs = append(errs, fieldProblem(genericPayload, "priority", "%s is not a priority (want one of %s)",
				quote(in.Priority), strings.Join(genericPriorities, ", ")))
		}
		a.Priority = p
	}
	return errors.Join(errs...)
}

// target is the unit the alert names, its kind inferred when left out,
// every name validated.
func (in genericAlert) target() (alert.Target, error) {
	g := in.Target
	if g == nil {
		return alert.Target{}, nil
	}
	t := alert.Target{
		Kind: g.Kind, Host: g.Host, Cluster: g.Cluster, ContainerID: g.ContainerID, ContainerName: g.ContainerName,
		Image: g.Image, ImageID: g.ImageID, Namespace: g.Namespace, Pod: g.Pod,
	}
	if t.Kind == "" {
		switch {
		case t.Namespace != "" && t.Pod != "":
			t.Kind = alert.KindKubernetes
		case t.ContainerID != "" || t.ContainerName != "":
			t.Kind = alert.KindDocker
		case t.ImageID != "":
			t.Kind = alert.KindImage
		}
	}
	return checkTarget(genericPayload, t, func(f string) string { return "target." + f })
}
