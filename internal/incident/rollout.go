package incident

import "time"

// Rollout is a workload rolled out to the clean image by digest.
type Rollout struct {
	// Cluster is where the workload runs.
	Cluster string `json:"cluster"`
	// Namespace is the workload's namespace.
	Namespace string `json:"namespace"`
	// Workload is the Deployment, StatefulSet or DaemonSet rolled out.
	Workload Workload `json:"workload"`
	// Image is the clean image, repo@sha256:digest.
	Image string `json:"image"`
	// Previous are the images the changed containers ran before, by
	// container name.
	Previous map[string]string `json:"previous,omitempty"`
	// RolledBack is set when the rollout failed and was rolled back.
	RolledBack bool `json:"rolled_back,omitempty"`
	// CompletedAt is when the rollout completed (or was rolled back).
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// ImageBlock is an admission policy that refuses the bad image.
type ImageBlock struct {
	// Cluster is where the policy is.
	Cluster string `json:"cluster"`
	// Policy and Binding name the ValidatingAdmissionPolicy and its binding.
	Policy  string `json:"policy"`
	Binding string `json:"binding"`
	// Images are the references refused, by digest or by tag.
	Images []string `json:"images"`
	// Namespaces are where they are refused; none means cluster-wide.
	Namespaces []string `json:"namespaces,omitempty"`
}
