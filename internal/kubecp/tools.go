// Package kubecp runs a real Kubernetes control plane on loopback for
// quell's tests and for `make kube-up`: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok (fake nodes, so that pods reach
// Running), each built once from its Go module into the user's cache by
// toolcache.
package kubecp

import "github.com/quell-ir/quell/internal/toolcache"

// Versions of the control plane's programs.
const (
	EtcdVersion       = "v3.6.4"
	KubernetesVersion = "v1.34.4"
	// StagingVersion is the release of Kubernetes' staging modules
	// (k8s.io/api, k8s.io/apiserver, ...) that goes with KubernetesVersion.
	StagingVersion = "v0.34.4"
	KwokVersion    = "v0.7.0"
)

// etcdMain is etcd's command: the server module offers it as a package.
const etcdMain = `package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
`

// Tools are the control plane's programs.
var (
	Etcd = toolcache.Tool{Module: "go.etcd.io/etcd/server/v3", Version: EtcdVersion, Name: "etcd", Main: etcdMain}

	APIServer = toolcache.Tool{Module: "k8s.io/kubernetes", Package: "cmd/kube-apiserver",
		Version: KubernetesVersion, Name: "kube-apiserver", Staging: StagingVersion}

	ControllerManager = toolcache.Tool{Module: "k8s.io/kubernetes", Package: "cmd/kube-controller-manager",
		Version: KubernetesVersion, Name: "kube-controller-manager", Staging: StagingVersion}

	// Scheduler places the pods of workloads on kwok's fake nodes.
	Scheduler = toolcache.Tool{Module: "k8s.io/kubernetes", Package: "cmd/kube-scheduler",
		Version: KubernetesVersion, Name: "kube-scheduler", Staging: StagingVersion}

	Kwok = toolcache.Tool{Module: "sigs.k8s.io/kwok", Package: "cmd/kwok", Version: KwokVersion, Name: "kwok"}
)

// Tools is every program of the control plane, in the order they start.
func Tools() []toolcache.Tool {
	return []toolcache.Tool{Etcd, APIServer, ControllerManager, Scheduler, Kwok}
}

// Build builds, or finds in the cache, every program of the control plane
// and returns their paths by name.
func Build(logf func(format string, args ...any)) (map[string]string, error) {
	bins := map[string]string{}
	for _, tool := range Tools() {
		bin, err := toolcache.Build(tool, logf)
		if err != nil {
			return nil, err
		}
		bins[tool.Name] = bin
	}
	return bins, nil
}
