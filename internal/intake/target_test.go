package intake

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

func TestCheckTarget(t *testing.T) {
	fullID := "EE97D9C4186F0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123"
	tests := []struct {
		name string
		in   alert.Target
		want alert.Target
		err  string
	}{
		{"empty", alert.Target{}, alert.Target{}, ""},
		{"upper-case ID is lower-cased", alert.Target{Kind: "docker", ContainerID: "EE97D9C4186F"},
			alert.Target{Kind: "docker", ContainerID: "ee97d9c4186f"}, ""},
		{"full ID", alert.Target{Kind: "docker", ContainerID: fullID},
			alert.Target{Kind: "docker", ContainerID: strings.ToLower(fullID)}, ""},
		{"name with slash", alert.Target{Kind: "docker", ContainerName: "/web_1.blue-green"},
			alert.Target{Kind: "docker", ContainerName: "web_1.blue-green"}, ""},
		{"host and address", alert.Target{Kind: "docker", Host: "Node-1.Example.com", ContainerID: "ee97d9c4186f"},
			alert.Target{Kind: "docker", Host: "Node-1.Example.com", ContainerID: "ee97d9c4186f"}, ""},
		{"IPv6 canonical", alert.Target{Kind: "docker", Host: "2001:DB8::0:1", ContainerID: "ee97d9c4186f"},
			alert.Target{Kind: "docker", Host: "2001:db8::1", ContainerID: "ee97d9c4186f"}, ""},
		{"pod", alert.Target{Kind: "kubernetes", Cluster: "prod_eu", Namespace: "shop", Pod: "web-7d9f8.x", Image: "ghcr.io/x/y:1@sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1"},
			alert.Target{Kind: "kubernetes", Cluster: "prod_eu", Namespace: "shop", Pod: "web-7d9f8.x", Image: "ghcr.io/x/y:1@sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1"}, ""},
		{"object", alert.Target{Namespace: "kube-system", Resource: "clusterrolebindings", Object: "system:controller:x"},
			alert.Target{Namespace: "kube-system", Resource: "clusterrolebindings", Object: "system:controller:x"}, ""},
		{"path as ID", alert.Target{Kind: "docker", ContainerID: "../../etc"}, alert.Target{},
			`alert: target.container_id: "../../etc" is not a container ID (want 12 to 64 hex digits)`},
		{"command as ID", alert.Target{Kind: "docker", ContainerID: "$(id)"}, alert.Target{},
			`alert: target.container_id: "$(id)" is not a container ID (want 12 to 64 hex digits)`},
		{"network path as ID", alert.Target{Kind: "docker", ContainerID: "../networks/x"}, alert.Target{},
			`alert: target.container_id: "../networks/x" is not a container ID (want 12 to 64 hex digits)`},
		{"4-character prefix", alert.Target{Kind: "docker", ContainerID: "ee97"}, alert.Target{},
			`alert: target.container_id: "ee97" is not a container ID (want 12 to 64 hex digits)`},
		{"65 hex digits", alert.Target{Kind: "docker", ContainerID: strings.Repeat("a", 65)}, alert.Target{},
			`alert: target.container_id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"... is not a container ID (want 12 to 64 hex digits)`},
		{"NUL in ID", alert.Target{Kind: "docker", ContainerID: "ee97d9c4186f\x00"}, alert.Target{},
			`alert: target.container_id: "ee97d9c4186f\x00" is not a container ID (want 12 to 64 hex digits)`},
		{"path as name", alert.Target{Kind: "docker", ContainerName: "../networks/x"}, alert.Target{},
			`alert: target.container_name: "../networks/x" is not a container name (want [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 512 bytes)`},
		{"NUL in name", alert.Target{Kind: "docker", ContainerName: "web\x00"}, alert.Target{},
			`alert: target.container_name: "web\x00" is not a container name (want [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 512 bytes)`},
		{"name too long", alert.Target{Kind: "docker", ContainerName: strings.Repeat("a", 513)}, alert.Target{},
			`alert: target.container_name: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"... is not a container name (want [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 512 bytes)`},
		{"host with underscore", alert.Target{Kind: "docker", Host: "node_1", ContainerID: "ee97d9c4186f"}, alert.Target{},
			`alert: target.host: "node_1" is not a host name (want an RFC 1123 name of at most 253 bytes, or an IP address)`},
		{"host with zone", alert.Target{Kind: "docker", Host: "fe80::1%eth0", ContainerID: "ee97d9c4186f"}, alert.Target{},
			`alert: target.host: "fe80::1%eth0" is not a host name (want an RFC 1123 name of at most 253 bytes, or an IP address)`},
		{"host trailing dot", alert.Target{Kind: "docker", Host: "node.", ContainerID: "ee97d9c4186f"}, alert.Target{},
			`alert: target.host: "node." is not a host name (want an RFC 1123 name of at most 253 bytes, or an IP address)`},
		{"upper-case namespace", alert.Target{Kind: "kubernetes", Namespace: "Shop", Pod: "web"}, alert.Target{},
			`alert: target.namespace: "Shop" is not a Kubernetes namespace: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{"pod path", alert.Target{Kind: "kubernetes", Namespace: "shop", Pod: "../x"}, alert.Target{},
			`alert: target.pod: "../x" is not a Kubernetes pod name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{"object with slash", alert.Target{Resource: "secrets", Object: "a/b"}, alert.Target{},
			`alert: target.object: "a/b" is not a Kubernetes object name: may not contain / or %`},
		{"object dot-dot", alert.Target{Resource: "secrets", Object: ".."}, alert.Target{},
			`alert: target.object: ".." is not a Kubernetes object name: may not be . or ..`},
		{"upper-case image", alert.Target{Kind: "docker", ContainerID: "ee97d9c4186f", Image: "Nginx:1"}, alert.Target{},
			`alert: target.image: "Nginx:1" is not an image reference: invalid reference format: repository name (library/Nginx) must be lowercase`},
		{"command as image", alert.Target{Kind: "docker", ContainerID: "ee97d9c4186f", Image: "$(id)"}, alert.Target{},
			`alert: target.image: "$(id)" is not an image reference: invalid reference format`},
		{"short image ID", alert.Target{Kind: "image", ImageID: "sha256:0559"}, alert.Target{},
			`alert: target.image_id: "sha256:0559" is not an image ID (want sha256: and 64 hex digits)`},
		{"docker without container", alert.Target{Kind: "docker", Host: "node-1"}, alert.Target{},
			`alert: target.kind: docker target needs a container ID or name`},
		{"kubernetes without pod", alert.Target{Kind: "kubernetes", Namespace: "shop"}, alert.Target{},
			`alert: target.kind: kubernetes target needs a namespace and a pod`},
		{"unknown kind", alert.Target{Kind: "vm"}, alert.Target{},
			`alert: target.kind: "vm" is not a target kind (want docker, kubernetes or image)`},
		{"every problem", alert.Target{Kind: "docker", Host: "a b", ContainerID: "x", ContainerName: "-"}, alert.Target{},
			"alert: target.host: \"a b\" is not a host name (want an RFC 1123 name of at most 253 bytes, or an IP address)\n" +
				"alert: target.container_id: \"x\" is not a container ID (want 12 to 64 hex digits)\n" +
				"alert: target.container_name: \"-\" is not a container name (want [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 512 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkTarget(genericPayload, tt.in, func(f string) string { return "target." + f })
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error:\ngot  %v\nwant %s", err, tt.err)
				}
				if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge) {
					t.Errorf("error %v: want ErrInvalid and not ErrTooLarge", err)
				}
				var e *Error
				if !errors.As(err, &e) || !strings.HasPrefix(e.Field, "target.") {
					t.Errorf("error %v: want an *Error naming a target field, got %#v", err, e)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestCheckTargetExported(t *testing.T) {
	_, err := CheckTarget(alert.Target{Kind: "docker", ContainerID: "../../etc"})
	if want := `target: target.container_id: "../../etc" is not a container ID (want 12 to 64 hex digits)`; err == nil || err.Error() != want {
		t.Errorf("CheckTarget error = %v, want %s", err, want)
	}
}

// TestParseFalcoTargetErrors covers issue 19's refusals through Falco's
// intake: nothing that names no real container gets a target.
func TestParseFalcoTargetErrors(t *testing.T) {
	tests := []struct {
		name   string
		extra  string // members after minimal
		fields string
		want   string
	}{
		{"path as ID", ``, `{"container.id":"../../etc"}`,
			`falco alert: output_fields["container.id"]: "../../etc" is not a container ID (want 12 to 64 hex digits)`},
		{"command as ID", ``, `{"container.id":"$(id)"}`,
			`falco alert: output_fields["container.id"]: "$(id)" is not a container ID (want 12 to 64 hex digits)`},
		{"network as ID", ``, `{"container.id":"../networks/x"}`,
			`falco alert: output_fields["container.id"]: "../networks/x" is not a container ID (want 12 to 64 hex digits)`},
		{"prefix", ``, `{"container.id":"ee97"}`,
			`falco alert: output_fields["container.id"]: "ee97" is not a container ID (want 12 to 64 hex digits)`},
		{"NUL", ``, `{"container.id":"ee97d9c4186f\u0000"}`,
			`falco alert: output_fields["container.id"]: "ee97d9c4186f\x00" is not a container ID (want 12 to 64 hex digits)`},
		{"name", ``, `{"container.id":"ee97d9c4186f","container.name":"a/b"}`,
			`falco alert: output_fields["container.name"]: "a/b" is not a container name (want [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 512 bytes)`},
		{"image", ``, `{"container.id":"ee97d9c4186f","container.image.repository":"../x","container.image.tag":"1"}`,
			`falco alert: output_fields["container.image.repository"]: "../x:1" is not an image reference: invalid reference format`},
		{"hostname", `,"hostname":"$(id)"`, `{"container.id":"ee97d9c4186f"}`,
			`falco alert: hostname: "$(id)" is not a host name (want an RFC 1123 name of at most 253 bytes, or an IP address)`},
		{"pod", ``, `{"container.id":"ee97d9c4186f","k8s.ns.name":"default","k8s.pod.name":"Web"}`,
			`falco alert: output_fields["k8s.pod.name"]: "Web" is not a Kubernetes pod name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{"audit namespace", `,"source":"k8s_audit"`, `{"ka.target.namespace":"../x","ka.target.resource":"pods","ka.target.name":"web"}`,
			`falco alert: output_fields["ka.target.namespace"]: "../x" is not a Kubernetes namespace: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{"event source", `,"source":"Sys call"`, `{}`,
			`falco alert: source: "Sys call" is not an event source (want ^[a-z0-9][a-z0-9._-]{0,62}$)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := minimal + tt.extra + `,"output_fields":` + tt.fields + `}`
			got, err := ParseFalco([]byte(body), time.Now())
			if err == nil || err.Error() != tt.want {
				t.Fatalf("ParseFalco error:\ngot  %v\nwant %s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) || !reflect.DeepEqual(got, alert.Alert{}) {
				t.Errorf("ParseFalco = %+v, %v: want the zero Alert and ErrInvalid", got, err)
			}
		})
	}
}

func TestParseFalcoAuditTarget(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		want   alert.Target
	}{
		{"pod", `{"ka.target.namespace":"shop","ka.target.resource":"pods","ka.target.name":"web-0","ka.target.subresource":"exec"}`,
			alert.Target{Kind: "kubernetes", Host: "node-1", Namespace: "shop", Pod: "web-0", Resource: "pods"}},
		{"pod in a named cluster", `{"ka.target.namespace":"shop","ka.target.resource":"pods","ka.target.name":"web-0","k8s.cluster.name":"prod"}`,
			alert.Target{Kind: "kubernetes", Host: "node-1", Cluster: "prod", Namespace: "shop", Pod: "web-0", Resource: "pods"}},
		{"pods without a name", `{"ka.target.namespace":"shop","ka.target.resource":"pods","ka.target.name":"<NA>"}`,
			alert.Target{Namespace: "shop", Resource: "pods"}},
		{"secret", `{"ka.target.namespace":"shop","ka.target.resource":"secrets","ka.target.name":"db-password"}`,
			alert.Target{Namespace: "shop", Resource: "secrets", Object: "db-password"}},
		{"cluster-scoped object", `{"ka.target.namespace":"<NA>","ka.target.resource":"clusterrolebindings","ka.target.name":"system:admin-x"}`,
			alert.Target{Resource: "clusterrolebindings", Object: "system:admin-x"}},
		{"no ka fields", `{"ka.user.name":"admin"}`, alert.Target{}},
		{"container fields are not read", `{"container.id":"ee97d9c4186f"}`, alert.Target{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := minimal + `,"source":"k8s_audit","hostname":"node-1","output_fields":` + tt.fields + `}`
			a, err := ParseFalco([]byte(body), time.Now())
			if err != nil {
				t.Fatalf("ParseFalco: %v", err)
			}
			if !reflect.DeepEqual(a.Target, tt.want) {
				t.Errorf("Target:\ngot  %+v\nwant %+v", a.Target, tt.want)
			}
			if key, err := a.Target.UnitKey(); (a.Target.Kind == "") != (err != nil) {
				t.Errorf("UnitKey = %q, %v: want a key exactly when the target names a unit", key, err)
			}
		})
	}
}
