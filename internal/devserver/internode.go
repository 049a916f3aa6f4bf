package devserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"go.temporal.io/server/common/rpc/encryption"
)

// internodeName is the name the internode certificate is made out to and
// every service checks.
const internodeName = "internode.quell-devserver.invalid"

// internodeTLS secures the traffic between the server's own services
// (history, matching, worker, internal frontend) with mutual TLS on a
// certificate made at start and kept in memory, so that no other local
// process can call them: they take no API key and trust every caller.
// The public frontend stays plain gRPC on loopback and is guarded by the
// authorizer instead.
type internodeTLS struct {
	server, client *tls.Config
}

var _ encryption.TLSConfigProvider = (*internodeTLS)(nil)

// newInternodeTLS makes a self-signed certificate, valid for both ends of
// a connection, and the configurations that present and require it.
func newInternodeTLS() (*internodeTLS, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("internode key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("internode serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: internodeName},
		DNSNames:              []string{internodeName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("internode certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("internode certificate: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &internodeTLS{
		server: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    pool,
			MinVersion:   tls.VersionTLS13,
		},
		client: &tls.Config{
			Certificates: []tls.Certificate{cert},
			RootCAs:      pool,
			ServerName:   internodeName,
			MinVersion:   tls.VersionTLS13,
		},
	}, nil
}

// GetInternodeServerConfig implements encryption.TLSConfigProvider.
func (p *internodeTLS) GetInternodeServerConfig() (*tls.Config, error) { return p.server, nil }

// GetInternodeClientConfig implements encryption.TLSConfigProvider; the
// system worker reaches the internal frontend with it too.
func (p *internodeTLS) GetInternodeClientConfig() (*tls.Config, error) { return p.client, nil }

// GetFrontendServerConfig implements encryption.TLSConfigProvider: the
// public frontend is plain gRPC.
func (p *internodeTLS) GetFrontendServerConfig() (*tls.Config, error) { return nil, nil }

// GetFrontendClientConfig implements encryption.TLSConfigProvider.
func (p *internodeTLS) GetFrontendClientConfig() (*tls.Config, error) { return nil, nil }

// GetRemoteClusterClientConfig implements encryption.TLSConfigProvider:
// there are no remote clusters.
func (p *internodeTLS) GetRemoteClusterClientConfig(string) (*tls.Config, error) { return nil, nil }

// GetExpiringCerts implements encryption.TLSConfigProvider: the
// certificate outlives any dev server.
func (p *internodeTLS) GetExpiringCerts(time.Duration) (encryption.CertExpirationMap, encryption.CertExpirationMap, error) {
	return nil, nil, nil
}
