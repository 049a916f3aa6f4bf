package kube

import (
	"context"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Pod reads a pod.
func Pod(ctx context.Context, c kubernetes.Interface, ns, name string) (*corev1.Pod, error) {
	p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get pod %s/%s: %w", ns, name, err)
	}
	return p, nil
}

// Owners reads a pod's owner chain as the API server holds it: each
// owner, then its owners, up to the workload; owners that are gone are
// left out.
func Owners(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, refs []metav1.OwnerReference) ([]any, error) {
	var out []any
	get := metav1.GetOptions{}
	for _, ref := range refs {
		var obj metav1.Object
		var err error
		switch ref.Kind {
		case "ReplicaSet":
			obj, err = c.AppsV1().ReplicaSets(pod.Namespace).Get(ctx, ref.Name, get)
		case "StatefulSet":
			obj, err = c.AppsV1().StatefulSets(pod.Namespace).Get(ctx, ref.Name, get)
		case "DaemonSet":
			obj, err = c.AppsV1().DaemonSets(pod.Namespace).Get(ctx, ref.Name, get)
		case "Deployment":
			obj, err = c.AppsV1().Deployments(pod.Namespace).Get(ctx, ref.Name, get)
		case "Job":
			obj, err = c.BatchV1().Jobs(pod.Namespace).Get(ctx, ref.Name, get)
		default:
			continue
		}
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get %s %s/%s: %w", ref.Kind, pod.Namespace, ref.Name, err)
		}
		out = append(out, obj)
		up, err := Owners(ctx, c, pod, obj.GetOwnerReferences())
		if err != nil {
			return nil, err
		}
		out = append(out, up...)
	}
	return out, nil
}

// Events are the events about a pod.
func Events(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod) (*corev1.EventList, error) {
	sel := fields.Set{"involvedObject.name": pod.Name, "involvedObject.uid": string(pod.UID)}.AsSelector().String()
	ev, err := c.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("events of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return ev, nil
}

// Node reads the node a pod runs on.
func Node(ctx context.Context, c kubernetes.Interface, name string) (*corev1.Node, error) {
	n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get node %s: %w", name, err)
	}
	return n, nil
}

// Logs streams a container's log, with timestamps; previous is the log of
// its last terminated instance.
func Logs(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, container string, previous bool) (io.ReadCloser, error) {
	req := c.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: container, Previous: previous, Timestamps: true})
	rc, err := req.Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("log of container %s of pod %s/%s: %w", container, pod.Namespace, pod.Name, err)
	}
	return rc, nil
}

// Checkpoint asks the pod's kubelet, through the API server, to checkpoint
// a container, and returns the kubelet's answer (the archive stays on the
// node, where the answer says).
func Checkpoint(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, container string) ([]byte, error) {
	b, err := c.CoreV1().RESTClient().Post().Resource("nodes").Name(pod.Spec.NodeName).SubResource("proxy").
		Suffix("checkpoint", pod.Namespace, pod.Name, container).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("checkpoint container %s of pod %s/%s on node %s: %w", container, pod.Namespace, pod.Name, pod.Spec.NodeName, err)
	}
	return b, nil
}

// DeletePod deletes a pod only if it is still the one of uid, with the
// policy that quarantines it, and waits, calling wait between reads, until
// it is gone. Deleted is false when the pod was gone already or another
// pod now has its name (which is not touched).
func DeletePod(ctx context.Context, c kubernetes.Interface, ns, name, uid, policy string, wait func()) (deleted bool, err error) {
	u := types.UID(uid)
	err = c.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &u}})
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
	case err != nil:
		return false, fmt.Errorf("delete pod %s/%s: %w", ns, name, err)
	default:
		deleted = true
		for {
			p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) || (err == nil && p.UID != u) {
				break
			}
			if err != nil {
				return deleted, fmt.Errorf("get pod %s/%s: %w", ns, name, err)
			}
			wait()
			if ctx.Err() != nil {
				return deleted, ctx.Err()
			}
		}
	}
	if _, err := deletePolicy(ctx, c, ns, policy); err != nil {
		return deleted, err
	}
	return deleted, nil
}

// Poll is the interval between reads while quell waits on a cluster.
const Poll = 250 * time.Millisecond
