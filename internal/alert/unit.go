package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// Unit kinds.
const (
	// KindDocker is a Docker container.
	KindDocker = "docker"
	// KindKubernetes is a Kubernetes pod.
	KindKubernetes = "kubernetes"
	// KindImage is an image, and through it every container that runs it.
	KindImage = "image"
)

// MaxPodKey bounds the length of a Kubernetes pod's unit key, so that the
// key and a run ID after it still fit a Docker tag (128 characters).
const MaxPodKey = 90

// podHashLen is how many hex digits of the SHA-256 of a pod's identity end
// its unit key.
const podHashLen = 10

var (
	// unsafeChars are the characters a Docker unit key replaces.
	unsafeChars = regexp.MustCompile(`[^a-z0-9-]+`)
	// unsafePodChars are the characters a pod unit key replaces.
	unsafePodChars = regexp.MustCompile(`[^a-z0-9.-]+`)
	// hexID is a container or image ID, or a prefix of one long enough to
	// name one unit.
	hexID = regexp.MustCompile(`^[0-9a-f]{12,64}$`)
)

// UnitKey identifies the unit across alerts: all alerts with the same key
// while an incident is open join that incident. It is safe in a Temporal
// workflow ID, a file name and a Docker tag:
//
//   - a container: "docker-<host>-<first 12 hex digits of the ID>", the
//     host lower-cased with every run of other characters than a-z, 0-9 and
//     "-" made one "-" ("local" when there is none);
//   - a pod: "k8s-<cluster or host>-<namespace>-<pod>-<hash>", at most
//     MaxPodKey characters, where hash is 10 hex digits of the SHA-256 of
//     the pod's identity (cluster or host, namespace, pod), so that two
//     distinct pods never share a key however their names are shortened
//     or their characters replaced;
//   - an image: "image-<first 12 hex digits of the image ID>".
//
// IDs are compared lower-cased; an ID that is not 12 to 64 hex digits (a
// short prefix may name several units) has no key.
func (t Target) UnitKey() (string, error) {
	switch t.Kind {
	case KindImage:
		id := strings.TrimPrefix(strings.ToLower(t.ImageID), "sha256:")
		if id == "" {
			return "", fmt.Errorf("unit key: image target has no image id")
		}
		if !hexID.MatchString(id) {
			return "", fmt.Errorf("unit key: image id %s is not 12 to 64 hex digits", quoteShort(t.ImageID))
		}
		return "image-" + id[:12], nil
	case KindDocker:
		return t.dockerKey()
	case KindKubernetes:
		return t.podKey()
	}
	return "", fmt.Errorf("unit key: target kind %s not supported", quoteShort(t.Kind))
}

// dockerKey is a container's unit key. Its form is kept as it has always
// been: running incidents' workflow IDs are these keys.
func (t Target) dockerKey() (string, error) {
	if t.ContainerID == "" {
		return "", fmt.Errorf("unit key: target has no container id")
	}
	id := strings.ToLower(t.ContainerID)
	if !hexID.MatchString(id) {
		return "", fmt.Errorf("unit key: container id %s is not 12 to 64 hex digits", quoteShort(t.ContainerID))
	}
	host := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(t.Host), "-"), "-")
	if host == "" {
		host = "local"
	}
	return "docker-" + host + "-" + id[:12], nil
}

// podKey is a pod's unit key: readable parts, shortened to fit, then a
// hash of the pod's identity that keeps distinct pods apart.
func (t Target) podKey() (string, error) {
	if t.Namespace == "" || t.Pod == "" {
		return "", fmt.Errorf("unit key: kubernetes target needs a namespace and a pod")
	}
	scope, where := t.Cluster, "cluster"
	if scope == "" {
		scope, where = strings.ToLower(t.Host), "host"
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{"k8s", where, scope, t.Namespace, t.Pod}, "\x00")))
	readable := "k8s-" + podPart(scope, "local") + "-" + podPart(t.Namespace, "ns") + "-" + podPart(t.Pod, "pod")
	if room := MaxPodKey - podHashLen - 1; len(readable) > room {
		readable = strings.TrimRight(readable[:room], "-.")
	}
	return readable + "-" + hex.EncodeToString(sum[:])[:podHashLen], nil
}

// podPart is one readable part of a pod's key: lower-cased, with every
// run of other characters than a-z, 0-9, "." and "-" made one "-", and
// orElse when nothing is left.
func podPart(s, orElse string) string {
	s = strings.Trim(unsafePodChars.ReplaceAllString(strings.ToLower(s), "-"), "-.")
	if s == "" {
		return orElse
	}
	return s
}

// quoteShort quotes s for an error message, cut to 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q...", s[:64])
	}
	return fmt.Sprintf("%q", s)
}
