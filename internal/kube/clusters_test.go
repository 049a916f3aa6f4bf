package kube

import (
	"strings"
	"testing"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/config"
)

// clusters are configured clusters without credentials: Pick reads only
// their names and match rules.
func clusters(list ...config.Cluster) *Clusters {
	cs := &Clusters{}
	for _, c := range list {
		cs.list = append(cs.list, cluster{cfg: c})
	}
	return cs
}

func TestPick(t *testing.T) {
	prod := config.Cluster{Name: "prod", Match: config.ClusterMatch{Hosts: []string{"prod-node-*"}}}
	edge := config.Cluster{Name: "edge", Match: config.ClusterMatch{Labels: map[string]string{"site": "edge"}}}
	lab := config.Cluster{Name: "lab"}
	pod := func(host string) alert.Target {
		return alert.Target{Kind: alert.KindKubernetes, Host: host, Namespace: "shop", Pod: "web-7d9f-abcde"}
	}
	for _, c := range []struct {
		name   string
		cs     *Clusters
		target alert.Target
		labels map[string]string
		want   string
		err    string
	}{
		{"by host prefix", clusters(prod, edge, lab), pod("prod-node-3"), nil, "prod", ""},
		{"by label", clusters(prod, edge, lab), pod("n1"), map[string]string{"site": "edge"}, "edge", ""},
		{"the one open cluster", clusters(prod, edge, lab), pod("n1"), nil, "lab", ""},
		{"named by the cluster label", clusters(prod, lab), pod("prod-node-1"), map[string]string{"cluster": "lab"}, "lab", ""},
		{"named but unknown", clusters(prod), pod("x"), map[string]string{"cluster": "qa"}, "", "no such cluster"},
		{"no cluster takes it", clusters(prod, edge), pod("n1"), nil, "", "no configured cluster takes pod shop/web-7d9f-abcde"},
		{"two take it", clusters(prod, config.Cluster{Name: "p2", Match: config.ClusterMatch{Hosts: []string{"prod-*"}}}),
			pod("prod-node-1"), nil, "", "matches clusters prod, p2"},
		{"attacker's namespace", clusters(lab), alert.Target{Namespace: "../kube-system", Pod: "x"}, nil, "", "namespace"},
		{"attacker's pod name", clusters(lab), alert.Target{Namespace: "shop", Pod: "web/../../nodes"}, nil, "", "pod"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.cs.Pick(c.target, c.labels)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Pick = %q, %v; want an error containing %q", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Pick = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestTagIsALabelValue(t *testing.T) {
	long := "k8s-prod-shop-web-7d9f8c6b5d-abcde-0123456789.8a1c0f8e-4a1b-4c3d-9e8f-0a1b2c3d4e5f"
	for _, id := range []string{long, "x", "---", long + "x"} {
		tag := Tag(id)
		if len(tag) > 63 || !strings.ContainsAny(tag[:1], "abcdefghijklmnopqrstuvwxyz0123456789") {
			t.Errorf("Tag(%q) = %q: not a label value", id, tag)
		}
	}
	if Tag(long) == Tag(long+"x") {
		t.Error("two incidents of one prefix share a tag")
	}
}

func TestDigestRef(t *testing.T) {
	const d = "sha256:6eb26ce8a23395f27f7777f0cbce9a06ffb5010f60c25397e7942ac885a6cc25"
	for _, c := range []struct{ image, imageID, want string }{
		{"registry:5000/shop/web:1", "registry:5000/shop/web@" + d, "registry:5000/shop/web@" + d},
		{"registry:5000/shop/web:1", "docker-pullable://registry:5000/shop/web@" + d, "registry:5000/shop/web@" + d},
		{"nginx", "docker.io/library/nginx@" + d, "nginx@" + d},
		{"nginx:1.27", d, ""},
		{"nginx:1.27", "", ""},
	} {
		if got := DigestRef(c.image, c.imageID); got != c.want {
			t.Errorf("DigestRef(%q, %q) = %q, want %q", c.image, c.imageID, got, c.want)
		}
	}
}

func TestIsBad(t *testing.T) {
	const d = "sha256:6eb26ce8a23395f27f7777f0cbce9a06ffb5010f60c25397e7942ac885a6cc25"
	bad := []string{"r:5000/web:1", "r:5000/web@" + d}
	for image, want := range map[string]bool{
		"r:5000/web:1":          true,
		"r:5000/web:1@" + d:     true,
		"other/mirror@" + d:     true,
		"r:5000/web:2":          false,
		"r:5000/web@sha256:abc": false,
	} {
		if got := isBad(image, bad); got != want {
			t.Errorf("isBad(%q) = %t, want %t", image, got, want)
		}
	}
}
