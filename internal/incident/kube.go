package incident

// PodIsolation records what k8s:isolate changed on a pod, so that a retry
// finishes the work once, the isolation can be undone, and the report can
// tell it.
type PodIsolation struct {
	// Cluster, Namespace and Pod name the pod; UID pins it, so that no
	// later pod of the same name is ever acted on.
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	UID       string `json:"uid"`
	// Node is the node the pod runs on.
	Node string `json:"node,omitempty"`
	// QuarantineLabel is the value of the quell.io/quarantine label.
	QuarantineLabel string `json:"quarantine_label"`
	// RemovedLabels are the labels removed because the owner's selector
	// matched them, with their values, to be put back on undo.
	RemovedLabels map[string]string `json:"removed_labels,omitempty"`
	// Owners are the pod's owners before it was released.
	Owners []Owner `json:"owners,omitempty"`
	// Workload is the Deployment, StatefulSet or DaemonSet the pod's
	// owner chain leads to; nil for a pod no workload owns.
	Workload *Workload `json:"workload,omitempty"`
	// Policy is the NetworkPolicy that denies the pod all traffic.
	Policy string `json:"policy"`
	// Containers are the pod's containers and the images they ran.
	Containers []PodContainer `json:"containers,omitempty"`
}

// Owner is an owner reference of a pod.
type Owner struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// Workload names a Deployment, StatefulSet or DaemonSet.
type Workload struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// PodContainer is one container of a pod.
type PodContainer struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	// ImageID is the image's digest as the node reported it
	// (repo@sha256:... or sha256:...).
	ImageID string `json:"image_id,omitempty"`
}
