package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	mregistry "github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
)

// Engine is what pushing needs of the Docker Engine API; *client.Client
// (github.com/moby/moby/client) is one.
type Engine interface {
	ImagePush(ctx context.Context, ref string, options client.ImagePushOptions) (client.ImagePushResponse, error)
}

// ErrNoEngine is returned by Push on a client made without WithEngine.
var ErrNoEngine = errors.New("registry client has no Docker Engine to push through")

// Push has the Docker daemon push its image tagged ref (host/path:tag, in a
// configured registry) and returns the manifest digest the registry stored.
// The daemon, not quell, uploads the layers, so it records the digest and
// can run the image by repo@digest afterwards. progress, when set, is
// called with each status line. Errors wrap ErrNotConfigured and ErrDenied
// as Resolve's do.
func (c *Client) Push(ctx context.Context, ref string, progress func(string)) (string, error) {
	if c.engine == nil {
		return "", ErrNoEngine
	}
	r, err := c.parse(ref)
	if err != nil {
		return "", err
	}
	header, err := c.engineAuth(ctx, r.Context().Registry)
	if err != nil {
		return "", err
	}
	resp, err := c.engine.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: header})
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	defer resp.Close()
	digest := ""
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return "", fmt.Errorf("push %s: %w", ref, err)
		}
		if msg.Error != nil {
			err := fmt.Errorf("push %s: %s", ref, msg.Error.Message)
			if msg.Error.Code == 401 || msg.Error.Code == 403 {
				err = fmt.Errorf("push %s: %w: %s", ref, ErrDenied, msg.Error.Message)
			}
			return "", err
		}
		if msg.Aux != nil {
			var aux struct{ Digest string }
			if json.Unmarshal(*msg.Aux, &aux) == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
		if progress != nil && msg.Status != "" {
			progress(msg.ID + " " + msg.Status)
		}
	}
	if digest == "" {
		return "", fmt.Errorf("push %s: the daemon reported no digest", ref)
	}
	return digest, nil
}

// engineAuth encodes the registry's credentials as the Engine's
// X-Registry-Auth header wants them (the daemon wants the header even for
// anonymous access).
func (c *Client) engineAuth(ctx context.Context, reg name.Registry) (string, error) {
	h := c.hosts[reg.RegistryStr()]
	ac := mregistry.AuthConfig{ServerAddress: reg.RegistryStr()}
	switch {
	case h.Token != "":
		ac.RegistryToken = h.Token
	case h.Username != "":
		ac.Username, ac.Password = h.Username, h.Password
	default:
		a, err := authn.Resolve(ctx, c.keychain, reg)
		if err != nil {
			return "", fmt.Errorf("credentials for %s: %w", reg.RegistryStr(), err)
		}
		cfg, err := authn.Authorization(ctx, a)
		if err != nil {
			return "", fmt.Errorf("credentials for %s: %w", reg.RegistryStr(), err)
		}
		ac.Username, ac.Password, ac.Auth = cfg.Username, cfg.Password, cfg.Auth
		ac.IdentityToken, ac.RegistryToken = cfg.IdentityToken, cfg.RegistryToken
	}
	b, err := json.Marshal(ac)
	if err != nil {
		return "", fmt.Errorf("credentials for %s: %w", reg.RegistryStr(), err)
	}
	return base64.URLEncoding.EncodeToString(b), nil
}
