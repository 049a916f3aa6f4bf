package registry

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// maxChildren bounds the manifests of an image index that are read.
const maxChildren = 64

// Annotations and labels that declare an image's base image (OCI image
// spec, pre-defined annotation keys).
const (
	BaseDigestKey = "org.opencontainers.image.base.digest"
	BaseNameKey   = "org.opencontainers.image.base.name"
)

// Manifest is what a reference resolves to in a registry.
type Manifest struct {
	// Repository is host/path.
	Repository string `json:"repository"`
	// Digest is the manifest's digest, "sha256:...".
	Digest string `json:"digest"`
	// MediaType is the manifest's media type.
	MediaType string `json:"media_type"`
	// Config is the image config's digest, which is the Docker image ID;
	// empty for an index.
	Config string `json:"config,omitempty"`
	// Children are an index's manifests' digests.
	Children []string `json:"children,omitempty"`
}

// Ref is the manifest's reference by digest, host/path@sha256:....
func (m Manifest) Ref() string { return m.Repository + "@" + m.Digest }

// Image is one image in a registry, with what its config says.
type Image struct {
	Manifest
	// Tags are the repository's tags that point at it (or at its index).
	Tags []string `json:"tags,omitempty"`
	// Index is the digest of the index it was found in, if any.
	Index string `json:"index,omitempty"`
	// Layers are its layers' diff IDs (uncompressed digests), bottom first.
	Layers []string `json:"layers,omitempty"`
	// Base is the base image its manifest or config declares
	// (BaseDigestKey, else BaseNameKey), if any.
	Base string `json:"base,omitempty"`
}

// Resolve returns the manifest ref names. Errors wrap ErrNotFound when
// there is none, ErrNotConfigured for a registry quell does not know, and
// ErrDenied when the credentials are refused.
func (c *Client) Resolve(ctx context.Context, ref string) (Manifest, error) {
	r, err := c.parse(ref)
	if err != nil {
		return Manifest{}, err
	}
	d, err := c.get(ctx, r)
	if err != nil {
		return Manifest{}, err
	}
	return manifestOf(r.Context(), d)
}

// Image returns the image ref names with its config's layers; an index
// resolves to the image of each of its manifests. Errors as Resolve.
func (c *Client) Image(ctx context.Context, ref string) ([]Image, error) {
	r, err := c.parse(ref)
	if err != nil {
		return nil, err
	}
	return c.images(ctx, r, nil)
}

// get fetches the manifest r names.
func (c *Client) get(ctx context.Context, r name.Reference) (*remote.Descriptor, error) {
	opts, err := c.options(ctx, r.Context().Registry)
	if err != nil {
		return nil, err
	}
	d, err := remote.Get(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", r, classify(err))
	}
	return d, nil
}

func manifestOf(repo name.Repository, d *remote.Descriptor) (Manifest, error) {
	m := Manifest{Repository: repo.Name(), Digest: d.Digest.String(), MediaType: string(d.MediaType)}
	switch {
	case d.MediaType.IsIndex():
		idx, err := v1.ParseIndexManifest(bytes.NewReader(d.Manifest))
		if err != nil {
			return m, fmt.Errorf("index %s: %w", m.Ref(), err)
		}
		for _, c := range idx.Manifests[:min(len(idx.Manifests), maxChildren)] {
			m.Children = append(m.Children, c.Digest.String())
		}
	case d.MediaType.IsImage():
		mf, err := v1.ParseManifest(bytes.NewReader(d.Manifest))
		if err != nil {
			return m, fmt.Errorf("manifest %s: %w", m.Ref(), err)
		}
		m.Config = mf.Config.Digest.String()
	default:
		return m, fmt.Errorf("manifest %s: media type %s is neither an image nor an index", m.Ref(), d.MediaType)
	}
	return m, nil
}

// images reads the image r names, or each image of the index it names,
// tagged tags, with their layers.
func (c *Client) images(ctx context.Context, r name.Reference, tags []string) ([]Image, error) {
	d, err := c.get(ctx, r)
	if err != nil {
		return nil, err
	}
	m, err := manifestOf(r.Context(), d)
	if err != nil {
		return nil, err
	}
	if m.Config != "" {
		img, err := imageOf(m, d)
		img.Tags = tags
		return []Image{img}, err
	}
	var out []Image
	for _, child := range m.Children {
		cd, err := c.get(ctx, r.Context().Digest(child))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		cm, err := manifestOf(r.Context(), cd)
		if err != nil || cm.Config == "" {
			continue // nested indexes and attestations are not images to compare
		}
		img, err := imageOf(cm, cd)
		if err != nil {
			return nil, err
		}
		img.Tags, img.Index = tags, m.Digest
		out = append(out, img)
	}
	return out, nil
}

// imageOf reads an image manifest's config: its layers and declared base.
func imageOf(m Manifest, d *remote.Descriptor) (Image, error) {
	img := Image{Manifest: m}
	ri, err := d.Image()
	if err != nil {
		return img, fmt.Errorf("image %s: %w", m.Ref(), classify(err))
	}
	cf, err := ri.ConfigFile()
	if err != nil {
		return img, fmt.Errorf("config of %s: %w", m.Ref(), classify(err))
	}
	for _, l := range cf.RootFS.DiffIDs {
		img.Layers = append(img.Layers, l.String())
	}
	mf, _ := ri.Manifest()
	for _, kv := range []map[string]string{mf.Annotations, cf.Config.Labels} {
		if img.Base == "" {
			img.Base = cmp.Or(kv[BaseDigestKey], kv[BaseNameKey])
		}
	}
	return img, nil
}

// Delete deletes the manifest ref names (by digest, or a tag where the
// registry allows it). A manifest already gone is no error. Errors wrap
// ErrDeleteRefused when the registry does not allow deletes, and as
// Resolve otherwise.
func (c *Client) Delete(ctx context.Context, ref string) error {
	r, err := c.parse(ref)
	if err != nil {
		return err
	}
	opts, err := c.options(ctx, r.Context().Registry)
	if err != nil {
		return err
	}
	err = remote.Delete(r, opts...)
	if te, ok := refused(err); ok {
		return fmt.Errorf("delete %s: %w (%s)", ref, ErrDeleteRefused, codes(te))
	}
	if err = classify(err); errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", ref, err)
	}
	return nil
}
