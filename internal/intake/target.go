package intake

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/quell-ir/quell/internal/alert"
)

// Bounds on the names a target holds, beyond those their grammars set.
const (
	// maxContainerName bounds a container name (cri-dockerd's names for
	// Kubernetes containers run to some 430 bytes).
	maxContainerName = 512
	// maxHost bounds a host name (RFC 1123 and DNS: 253).
	maxHost = 253
	// maxCluster bounds a cluster name.
	maxCluster = 100
	// maxImage bounds an image reference.
	maxImage = 512
	// maxObject bounds a Kubernetes object name (as DNS subdomains: 253).
	maxObject = 253
)

var (
	containerIDPattern   = regexp.MustCompile(`^[0-9a-fA-F]{12,64}$`)
	containerNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	hostLabelPattern     = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)
	clusterPattern       = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	imageIDPattern       = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	// idPattern is a detector's ID for an event, fit for an idempotency key.
	idPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,127}$`)
	// sourcePattern is an event source or a sender's source name.
	sourcePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
)

// checkContainerID validates a container ID: 12 to 64 hex digits (a
// shorter prefix may name several containers), returned lower-cased.
func checkContainerID(s string) (string, error) {
	if !containerIDPattern.MatchString(s) {
		return "", fmt.Errorf("%s is not a container ID (want 12 to 64 hex digits)", quote(s))
	}
	return strings.ToLower(s), nil
}

// checkContainerName validates a container name in Docker's syntax,
// returned without its leading slash.
func checkContainerName(s string) (string, error) {
	name := strings.TrimPrefix(s, "/")
	if len(name) > maxContainerName || !containerNamePattern.MatchString(name) {
		return "", fmt.Errorf("%s is not a container name (want [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most %d bytes)", quote(s), maxContainerName)
	}
	return name, nil
}

// checkHost validates a host: an RFC 1123 host name of at most 253 bytes
// or an IP address without zone, returned as given (an address in its
// canonical form).
func checkHost(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.String(), nil
	}
	bad := fmt.Errorf("%s is not a host name (want an RFC 1123 name of at most %d bytes, or an IP address)", quote(s), maxHost)
	if s == "" || len(s) > maxHost {
		return "", bad
	}
	for _, label := range strings.Split(s, ".") {
		if !hostLabelPattern.MatchString(label) {
			return "", bad
		}
	}
	return s, nil
}

// checkCluster validates a cluster name.
func checkCluster(s string) (string, error) {
	if len(s) > maxCluster || !clusterPattern.MatchString(s) {
		return "", fmt.Errorf("%s is not a cluster name (want [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most %d bytes)", quote(s), maxCluster)
	}
	return s, nil
}

// checkNamespace validates a Kubernetes namespace: a DNS-1123 label.
func checkNamespace(s string) (string, error) {
	if msgs := validation.IsDNS1123Label(s); len(msgs) > 0 {
		return "", fmt.Errorf("%s is not a Kubernetes namespace: %s", quote(s), strings.Join(msgs, "; "))
	}
	return s, nil
}

// checkPod validates a Kubernetes pod name: a DNS-1123 subdomain.
func checkPod(s string) (string, error) {
	if msgs := validation.IsDNS1123Subdomain(s); len(msgs) > 0 {
		return "", fmt.Errorf("%s is not a Kubernetes pod name: %s", quote(s), strings.Join(msgs, "; "))
	}
	return s, nil
}

// checkResource validates a Kubernetes resource name ("pods",
// "serviceaccounts"): a DNS-1123 label.
func checkResource(s string) (string, error) {
	if msgs := validation.IsDNS1123Label(s); len(msgs) > 0 {
		return "", fmt.Errorf("%s is not a Kubernetes resource: %s", quote(s), strings.Join(msgs, "; "))
	}
	return s, nil
}

// checkObject validates the name of a Kubernetes object of any resource:
// what the API server takes as a path segment, at most 253 printable bytes.
func checkObject(s string) (string, error) {
	bad := func(why string) error { return fmt.Errorf("%s is not a Kubernetes object name: %s", quote(s), why) }
	switch {
	case s == "" || len(s) > maxObject:
		return "", bad(fmt.Sprintf("want 1 to %d bytes", maxObject))
	case s == "." || s == "..":
		return "", bad("may not be . or ..")
	case strings.ContainsAny(s, "/%"):
		return "", bad("may not contain / or %")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || visible(r) != "" {
			return "", bad("may not contain spaces or control characters")
		}
	}
	return s, nil
}

// checkImage validates an image reference with Docker's reference grammar
// (a name with an optional tag and digest, a digest, or a full image ID).
func checkImage(s string) (string, error) {
	if len(s) > maxImage {
		return "", fmt.Errorf("%s is not an image reference: longer than %d bytes", quote(s), maxImage)
	}
	if _, err := reference.ParseAnyReference(s); err != nil {
		return "", fmt.Errorf("%s is not an image reference: %v", quote(s), err)
	}
	return s, nil
}

// checkImageID validates an image ID: "sha256:" and 64 hex digits.
func checkImageID(s string) (string, error) {
	if !imageIDPattern.MatchString(s) {
		return "", fmt.Errorf("%s is not an image ID (want sha256: and 64 hex digits)", quote(s))
	}
	return s, nil
}

// targetField is one part of a target a checker validates.
type targetField struct {
	name  string // the target's JSON name
	value *string
	check func(string) (string, error)
}

// targetFields lists the parts of t that name something, with their checks.
func targetFields(t *alert.Target) []targetField {
	return []targetField{
		{"host", &t.Host, checkHost},
		{"cluster", &t.Cluster, checkCluster},
		{"container_id", &t.ContainerID, checkContainerID},
		{"container_name", &t.ContainerName, checkContainerName},
		{"image", &t.Image, checkImage},
		{"image_id", &t.ImageID, checkImageID},
		{"namespace", &t.Namespace, checkNamespace},
		{"pod", &t.Pod, checkPod},
		{"resource", &t.Resource, checkResource},
		{"object", &t.Object, checkObject},
	}
}

// checkTarget validates every part of t that is set and that its kind has
// what names its unit; where maps a target's JSON name to the payload's
// path for errors. It returns t normalised.
func checkTarget(payload string, t alert.Target, where func(field string) string) (alert.Target, error) {
	var errs []error
	for _, f := range targetFields(&t) {
		if *f.value == "" {
			continue
		}
		v, err := f.check(*f.value)
		if err != nil {
			errs = append(errs, fieldProblem(payload, where(f.name), "%v", err))
			continue
		}
		*f.value = v
	}
	var missing string
	switch t.Kind {
	case "":
	case alert.KindDocker:
		if t.ContainerID == "" && t.ContainerName == "" {
			missing = "a container ID or name"
		}
	case alert.KindKubernetes:
		if t.Namespace == "" || t.Pod == "" {
			missing = "a namespace and a pod"
		}
	case alert.KindImage:
		if t.ImageID == "" {
			missing = "an image ID"
		}
	default:
		errs = append(errs, fieldProblem(payload, where("kind"), "%s is not a target kind (want %s, %s or %s)",
			quote(t.Kind), alert.KindDocker, alert.KindKubernetes, alert.KindImage))
	}
	if missing != "" {
		errs = append(errs, fieldProblem(payload, where("kind"), "%s target needs %s", t.Kind, missing))
	}
	if len(errs) > 0 {
		return alert.Target{}, errors.Join(errs...)
	}
	return t, nil
}

// CheckTarget validates every part of t that names something, as intake
// does at parse time: container IDs (12 to 64 hex digits, lower-cased),
// container names (Docker's syntax, leading slash dropped), hosts (RFC
// 1123 or an IP address), namespaces and resources (DNS-1123 labels), pods
// (DNS-1123 subdomains), object names, image references and image IDs;
// and that a kind has what names its unit. It returns t normalised, or an
// *Error for each problem (errors.Is(err, ErrInvalid)), each naming the
// field as "target.<name>".
func CheckTarget(t alert.Target) (alert.Target, error) {
	return checkTarget("target", t, func(f string) string { return "target." + f })
}
