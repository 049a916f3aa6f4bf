package kubecp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Users of the control plane, each with its own static bearer token:
// admin is in system:masters; the others have no role until one is bound.
var Users = []string{"admin", "quell", "nobody"}

// Plane is a running control plane on loopback: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok with one fake node.
type Plane struct {
	// Dir holds the plane's data, certificates, kubeconfigs and logs.
	Dir string
	// Server is the API server's URL.
	Server string
	// NodeName is the fake node that pods run on.
	NodeName string

	caPEM  []byte
	tokens map[string]string
	procs  []*process
}

// process is one program of the plane.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// Start starts a control plane in dir with the programs of bins (as
// Build returns them) and returns when its node is ready. The programs
// die with the process that started them.
func Start(ctx context.Context, dir string, bins map[string]string) (p *Plane, err error) {
	p = &Plane{Dir: dir, NodeName: "quell-kwok-node", tokens: map[string]string{}}
	defer func() {
		if err != nil {
			p.Stop()
		}
	}()
	for _, d := range []string{"etcd", "pki"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	if err := p.writeCredentials(); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	etcdClient, etcdPeer, apiPort, err := freePorts()
	if err != nil {
		return nil, err
	}
	pki := func(name string) string { return filepath.Join(dir, "pki", name) }
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	if err := p.start(bins, "etcd", "--name=default", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL, "--unsafe-no-fsync", "--log-level=warn"); err != nil {
		return nil, err
	}
	if err := p.waitHTTP(ctx, "etcd", etcdURL+"/health", nil); err != nil {
		return nil, err
	}
	p.Server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	if err := p.start(bins, "kube-apiserver",
		"--etcd-servers="+etcdURL, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--tls-cert-file="+pki("apiserver.crt"), "--tls-private-key-file="+pki("apiserver.key"),
		"--token-auth-file="+pki("tokens.csv"), "--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki("sa.pub"), "--service-account-signing-key-file="+pki("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/24", "--endpoint-reconciler-type=none",
		"--disable-admission-plugins=ServiceAccount", "--enable-priority-and-fairness=false", "--profiling=false"); err != nil {
		return nil, err
	}
	if err := p.waitHTTP(ctx, "kube-apiserver", p.Server+"/readyz", p.AdminConfig()); err != nil {
		return nil, err
	}
	admin := filepath.Join(dir, "admin.kubeconfig")
	if err := WriteKubeconfig(admin, p.AdminConfig()); err != nil {
		return nil, err
	}
	if err := p.start(bins, "kube-controller-manager", "--kubeconfig="+admin, "--leader-elect=false",
		"--secure-port=0", "--use-service-account-credentials=false",
		"--service-account-private-key-file="+pki("sa.key"), "--root-ca-file="+pki("ca.crt"),
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10"); err != nil {
		return nil, err
	}
	if err := p.start(bins, "kube-scheduler", "--kubeconfig="+admin, "--leader-elect=false", "--secure-port=0"); err != nil {
		return nil, err
	}
	if err := p.start(bins, "kwok", "--kubeconfig="+admin, "--config="+filepath.Join(dir, "kwok.yaml"),
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake", "--cidr=10.0.0.1/24", "--node-ip=127.0.0.1"); err != nil {
		return nil, err
	}
	if err := p.addNode(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// writeCredentials writes a CA, the API server's certificate for
// 127.0.0.1 and localhost, the service account signing key and the
// static tokens of Users.
func (p *Plane) writeCredentials() error {
	pki := func(name string) string { return filepath.Join(p.Dir, "pki", name) }
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "quell test control plane CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serving := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.ParseIP("10.96.0.1")},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}
	der, err := x509.CreateCertificate(rand.Reader, serving, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	sa, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	if err != nil {
		return err
	}
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	var tokens strings.Builder
	for i, u := range Users {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		p.tokens[u] = hex.EncodeToString(b)
		groups := ""
		if u == "admin" {
			groups = ",\"system:masters\""
		}
		fmt.Fprintf(&tokens, "%s,%s,%d%s\n", p.tokens[u], u, 1000+i, groups)
	}
	files := map[string][]byte{
		"ca.crt":        p.caPEM,
		"apiserver.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"apiserver.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		"sa.key":        pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(sa)}),
		"sa.pub":        pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
		"tokens.csv":    []byte(tokens.String()),
	}
	for name, data := range files {
		if err := os.WriteFile(pki(name), data, 0o600); err != nil {
			return err
		}
	}
	// kwok's default stages: nodes become ready, pods run and are deleted.
	return os.WriteFile(filepath.Join(p.Dir, "kwok.yaml"), []byte(kwokConfig), 0o600)
}

// kwokConfig is kwok's configuration; without stages it uses its default
// ones (node-initialize, node-heartbeat, pod-ready, pod-complete,
// pod-delete).
const kwokConfig = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  cidr: 10.0.0.1/24
  nodeIP: 127.0.0.1
`

func freePorts() (a, b, c int, err error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, 0, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports[0], ports[1], ports[2], nil
}

// start starts one program, its output in <name>.log.
func (p *Plane) start(bins map[string]string, name string, args ...string) error {
	bin := bins[name]
	if bin == "" {
		return fmt.Errorf("%s: not built", name)
	}
	logPath := filepath.Join(p.Dir, name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), "HOME="+p.Dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	pr := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); out.Close(); close(pr.done) }()
	p.procs = append(p.procs, pr)
	return nil
}

// waitHTTP waits until url answers 200, failing early when a program of
// the plane has exited.
func (p *Plane) waitHTTP(ctx context.Context, name, url string, rc *rest.Config) error {
	client := &http.Client{Timeout: 2 * time.Second}
	if rc != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(p.caPEM)
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if rc != nil {
			req.Header.Set("Authorization", "Bearer "+rc.BearerToken)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := p.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s did not become ready at %s: %v\n%s", name, url, err, p.tail(name))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exited fails when a program of the plane has exited.
func (p *Plane) exited() error {
	for _, pr := range p.procs {
		select {
		case <-pr.done:
			return fmt.Errorf("%s exited: %v\n%s", pr.name, pr.cmd.ProcessState, p.tail(pr.name))
		default:
		}
	}
	return nil
}

// tail is the end of a program's log.
func (p *Plane) tail(name string) string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, name+".log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Logs is the end of every program's log, for a failing test.
func (p *Plane) Logs() string {
	var b bytes.Buffer
	for _, pr := range p.procs {
		fmt.Fprintf(&b, "--- %s\n%s\n", pr.name, p.tail(pr.name))
	}
	return b.String()
}

// addNode registers the fake node that kwok runs pods on and waits until
// it is ready.
func (p *Plane) addNode(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(p.AdminConfig())
	if err != nil {
		return err
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("64Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        p.NodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			Labels:      map[string]string{"type": "kwok", corev1.LabelHostname: p.NodeName},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create node %s: %w", p.NodeName, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := cs.CoreV1().Nodes().Get(ctx, p.NodeName, metav1.GetOptions{})
		if err == nil {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		if err := p.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s not ready after 60s:\n%s", p.NodeName, p.tail("kwok"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// AdminConfig is a client config of the admin user.
func (p *Plane) AdminConfig() *rest.Config { return p.UserConfig("admin") }

// UserConfig is a client config of one of Users.
func (p *Plane) UserConfig(user string) *rest.Config {
	return &rest.Config{
		Host: p.Server, BearerToken: p.tokens[user],
		TLSClientConfig: rest.TLSClientConfig{CAData: p.caPEM},
		QPS:             100, Burst: 200,
	}
}

// WriteKubeconfig writes a kubeconfig of rc's server, CA and token.
func WriteKubeconfig(path string, rc *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kubecp"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: rc.CAData}
	kc.AuthInfos["user"] = &clientcmdapi.AuthInfo{Token: rc.BearerToken}
	kc.Contexts["kubecp"] = &clientcmdapi.Context{Cluster: "kubecp", AuthInfo: "user"}
	kc.CurrentContext = "kubecp"
	return clientcmd.WriteToFile(*kc, path)
}

// Stop stops the plane's programs, the last started first.
func (p *Plane) Stop() {
	var wg sync.WaitGroup
	for i := len(p.procs) - 1; i >= 0; i-- {
		pr := p.procs[i]
		if pr.name == "etcd" {
			wg.Wait() // etcd goes last, once nothing writes to it
		}
		_ = pr.cmd.Process.Signal(syscall.SIGTERM)
		wg.Go(func() {
			select {
			case <-pr.done:
			case <-time.After(10 * time.Second):
				_ = pr.cmd.Process.Kill()
				<-pr.done
			}
		})
	}
	wg.Wait()
	p.procs = nil
}
