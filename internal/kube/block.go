package kube

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// annotationImages lists, one per line, the images a block refuses.
const annotationImages = "quell.io/blocked-images"

// managedBy labels every object quell creates.
var managedBy = map[string]string{"app.kubernetes.io/managed-by": "quell"}

// BlockName names the ValidatingAdmissionPolicy, and its binding, that
// keep an incident's bad image out.
func BlockName(incidentID string) string { return "quell-block-" + hash(incidentID) }

// Block is an admission policy of quell's that refuses images.
type Block struct {
	Name       string
	IncidentID string
	Images     []string
	Namespaces []string
	Created    metav1.Time
}

// BlockImages creates a ValidatingAdmissionPolicy and its binding that
// refuse to create pods or pod templates (Deployments, ReplicaSets,
// StatefulSets, DaemonSets, Jobs, CronJobs) that run one of images (a
// digest reference refuses the digest under any name; a tag reference
// that reference), and updates that bring one in, in namespaces or
// cluster-wide. Updates of objects that ran the image before are let
// through, so that controllers can still scale the old image down. The
// refusal names the incident. Both objects exist once per incident: a
// retry finds them.
func BlockImages(ctx context.Context, c kubernetes.Interface, incidentID string, images, namespaces []string) (string, error) {
	var tags, digests []string
	for _, img := range images {
		if _, err := reference.ParseAnyReference(img); err != nil || strings.ContainsAny(img, "\"'\\\n") {
			return "", fmt.Errorf("block image %.128q: not an image reference", img)
		}
		if _, d, ok := strings.Cut(img, "@"); ok {
			digests = append(digests, "@"+d)
		} else {
			tags = append(tags, img)
		}
	}
	name := BlockName(incidentID)
	labels := map[string]string{LabelIncident: Tag(incidentID)}
	for k, v := range managedBy {
		labels[k] = v
	}
	meta := metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{
		AnnotationIncident: incidentID, annotationImages: strings.Join(images, "\n"),
	}}
	bad := func(i string) string {
		return fmt.Sprintf("(%s in %s || %s.exists(d, %s.endsWith(d)))", i, celList(tags), celList(digests), i)
	}
	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: meta,
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				rule("", "pods", "pods/ephemeralcontainers"),
				rule("apps", "deployments", "replicasets", "statefulsets", "daemonsets"),
				rule("batch", "jobs", "cronjobs"),
			}},
			Variables: []admissionv1.Variable{
				{Name: "spec", Expression: podSpecOf("object")},
				{Name: "images", Expression: imagesOf("variables.spec")},
				{Name: "oldSpec", Expression: podSpecOf("oldObject")},
				{Name: "oldImages", Expression: imagesOf("variables.oldSpec")},
			},
			Validations: []admissionv1.Validation{{
				Expression: fmt.Sprintf("!variables.images.exists(i, %s) || (request.operation == 'UPDATE' && variables.oldImages.exists(i, %s))", bad("i"), bad("i")),
				Message: fmt.Sprintf("quell incident %s blocks image %s (the image is compromised; `quell blocks lift %s` lifts the block)",
					incidentID, strings.Join(images, ", "), incidentID),
				Reason: ptr(metav1.StatusReasonForbidden),
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: meta,
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	if len(namespaces) > 0 {
		binding.Spec.MatchResources = &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: namespaces}},
		}}
	}
	api := c.AdmissionregistrationV1()
	if _, err := api.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{FieldManager: "quell"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create ValidatingAdmissionPolicy %s: %w", name, err)
	}
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{FieldManager: "quell"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create ValidatingAdmissionPolicyBinding %s: %w", name, err)
	}
	return name, nil
}

func rule(group string, resources ...string) admissionv1.NamedRuleWithOperations {
	return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
		Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
		Rule:       admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources},
	}}
}

// podSpecOf is CEL for the pod spec of a pod or pod template object.
func podSpecOf(obj string) string {
	return fmt.Sprintf("%[1]s.kind == 'Pod' ? %[1]s.spec : (%[1]s.kind == 'CronJob' ? %[1]s.spec.jobTemplate.spec.template.spec : %[1]s.spec.template.spec)", obj)
}

// imagesOf is CEL for the images of every container of a pod spec.
func imagesOf(spec string) string {
	var parts []string
	for _, f := range []string{"containers", "initContainers", "ephemeralContainers"} {
		parts = append(parts, fmt.Sprintf("(has(%[1]s.%[2]s) ? %[1]s.%[2]s.map(c, c.image) : [])", spec, f))
	}
	return strings.Join(parts, " + ")
}

// celList is a CEL list of string literals; the strings are image
// references, checked to hold no quote or backslash.
func celList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func ptr[T any](v T) *T { return &v }

// Blocks lists quell's admission blocks.
func Blocks(ctx context.Context, c kubernetes.Interface) ([]Block, error) {
	list, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicies().List(ctx, metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/managed-by=quell," + LabelIncident,
	})
	if err != nil {
		return nil, fmt.Errorf("list ValidatingAdmissionPolicies: %w", err)
	}
	var blocks []Block
	for _, p := range list.Items {
		b := Block{Name: p.Name, IncidentID: p.Annotations[AnnotationIncident], Created: p.CreationTimestamp,
			Images: strings.Split(p.Annotations[annotationImages], "\n")}
		binding, err := c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, p.Name, metav1.GetOptions{})
		if err == nil && binding.Spec.MatchResources != nil && binding.Spec.MatchResources.NamespaceSelector != nil {
			for _, e := range binding.Spec.MatchResources.NamespaceSelector.MatchExpressions {
				b.Namespaces = append(b.Namespaces, e.Values...)
			}
		}
		blocks = append(blocks, b)
	}
	slices.SortFunc(blocks, func(a, b Block) int { return a.Created.Compare(b.Created.Time) })
	return blocks, nil
}

// LiftBlock deletes an incident's admission block; lifted is false when
// there was none.
func LiftBlock(ctx context.Context, c kubernetes.Interface, incidentID string) (lifted bool, err error) {
	name := BlockName(incidentID)
	api := c.AdmissionregistrationV1()
	for _, del := range []func() error{
		func() error { return api.ValidatingAdmissionPolicyBindings().Delete(ctx, name, metav1.DeleteOptions{}) },
		func() error { return api.ValidatingAdmissionPolicies().Delete(ctx, name, metav1.DeleteOptions{}) },
	} {
		switch err := del(); {
		case apierrors.IsNotFound(err):
		case err != nil:
			return lifted, fmt.Errorf("lift block %s of incident %s: %w", name, incidentID, err)
		default:
			lifted = true
		}
	}
	return lifted, nil
}
