// Package tsatest gives tests a real RFC 3161 timestamp authority on
// loopback: sigstore's timestamp-server (github.com/sigstore/timestamp-authority),
// built once into a cache outside the repository (toolcache) so that
// quell's go.mod does not carry its dependencies. It signs with a key and
// certificate chain the package makes in the test's temporary directory,
// so an authority stopped and started again is the same authority.
//
// When the authority cannot be built or started the test is skipped,
// unless CI=true, where it fails.
package tsatest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/quell-ir/quell/internal/toolcache"
)

// Authority is a running timestamp authority.
type Authority struct {
	// URL is where it takes RFC 3161 requests (POST).
	URL string
	// Chain is its PEM certificate chain, leaf first and root last, as it
	// serves it at URL + "/certchain".
	Chain []byte
	bin   string
	dir   string
	port  int
	cmd   *exec.Cmd
	log   *toolcache.LogBuffer
}

// Start builds the authority if the cache lacks it, makes its key and
// chain, starts it on a free loopback port, waits until it answers and
// stops it when the test ends.
func Start(t testing.TB) *Authority {
	t.Helper()
	a := &Authority{bin: toolcache.Binary(t, Tool), dir: t.TempDir()}
	if err := writeIdentity(a.dir); err != nil {
		t.Fatalf("timestamp authority identity: %v", err)
	}
	for attempt := 0; ; attempt++ {
		port, err := toolcache.FreePort()
		if err == nil {
			a.port = port
			err = a.start()
		}
		if err == nil {
			break
		}
		if attempt == 2 {
			toolcache.Unavailable(t, "start timestamp-server %s: %v", Version, err)
		}
	}
	a.URL = fmt.Sprintf("http://127.0.0.1:%d/api/v1/timestamp", a.port)
	t.Cleanup(a.Stop)
	chain, err := get(a.URL + "/certchain")
	if err != nil {
		t.Fatalf("timestamp authority chain: %v", err)
	}
	a.Chain = chain
	return a
}

func (a *Authority) start() error {
	a.log = &toolcache.LogBuffer{}
	a.cmd = exec.Command(a.bin, "serve",
		"--host", "127.0.0.1", "--port", strconv.Itoa(a.port),
		"--disable-ntp-monitoring", "--log-type", "prod",
		"--timestamp-signer", "file",
		"--file-signer-key-path", filepath.Join(a.dir, "tsa.key"),
		"--certificate-chain-path", filepath.Join(a.dir, "chain.pem"),
		"--include-chain-in-response",
	)
	a.cmd.Dir = a.dir
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	// A test binary that dies (a panic, a timeout) takes the authority with it.
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		return err
	}
	ping := fmt.Sprintf("http://127.0.0.1:%d/ping", a.port)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := get(ping); err == nil {
			return nil
		}
	}
	a.Stop()
	return fmt.Errorf("timestamp-server on 127.0.0.1:%d did not answer within 15s:\n%s", a.port, a.log.String())
}

// Stop stops the authority, as an outage would; requests to URL then find
// no one listening.
func (a *Authority) Stop() {
	if a.cmd == nil || a.cmd.Process == nil || a.cmd.ProcessState != nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = a.cmd.Process.Kill()
		<-done
	}
}

// Restart starts a stopped authority again at the same URL, with the same
// key and chain.
func (a *Authority) Restart(t testing.TB) {
	t.Helper()
	a.Stop()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = a.start(); err == nil {
			return
		}
	}
	t.Fatalf("restart timestamp-server on 127.0.0.1:%d: %v", a.port, err)
}

// Log returns what the authority has logged so far.
func (a *Authority) Log() string { return a.log.String() }

// writeIdentity writes a root CA and a timestamping leaf, chain.pem (leaf
// first), and the leaf's key, tsa.key, into dir: the chain the server
// demands (RFC 3161 section 2.3: an end-entity leaf whose only extended key
// usage is timestamping, marked critical).
func writeIdentity(dir string) error {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	root := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"quell tests"}, CommonName: "tsatest root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, rootKey.Public(), rootKey)
	if err != nil {
		return err
	}
	if root, err = x509.ParseCertificate(rootDER); err != nil {
		return err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}}) // id-kp-timeStamping
	if err != nil {
		return err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{Organization: []string{"quell tests"}, CommonName: "tsatest timestamping"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, root, leafKey.Public(), rootKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		return err
	}
	var chain bytes.Buffer
	for _, der := range [][]byte{leafDER, rootDER} {
		_ = pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	if err := os.WriteFile(filepath.Join(dir, "chain.pem"), chain.Bytes(), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tsa.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// get returns the body of a 200 answer to a GET of u.
func get(u string) ([]byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return body, nil
}
