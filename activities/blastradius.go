package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/registry"
)

// BlastRadiusInput is the input of BlastRadius.
type BlastRadiusInput struct {
	IncidentID string `json:"incident_id"`
	// ImageID is the bad image (its config digest).
	ImageID string `json:"image_id"`
	// Known are manifests of it, repo@sha256:..., that registry:push found
	// under the tags it moved.
	Known []string `json:"known,omitempty"`
}

// BlastRadiusResult lists what else was built on the bad image's own layers.
type BlastRadiusResult struct {
	Radius *incident.BlastRadius `json:"radius,omitempty"`
	// Note says why nothing was compared, when nothing was.
	Note string `json:"note,omitempty"`
}

// BlastRadius lists every repository and tag in the configured registries
// whose image contains at least one of the bad image's own layers, the
// layers it added over its base image (see OwnLayers for the rule). The
// bad image's layers are read from the registries, so run it before
// registry:delete.
func (r *Registries) BlastRadius(ctx context.Context, in BlastRadiusInput) (BlastRadiusResult, error) {
	if !r.configured() {
		return BlastRadiusResult{Note: NoRegistry}, nil
	}
	if in.ImageID == "" {
		return BlastRadiusResult{}, permanentf(ErrTypeBadInput, "blast radius: no image id")
	}
	scan, err := r.Client.Scan(ctx, registry.ScanOptions{Progress: func(n int) { activity.RecordHeartbeat(ctx, n) }})
	if err != nil {
		return BlastRadiusResult{}, registryError(err)
	}
	bad, ok := r.badImage(ctx, in, scan.Images)
	if !ok {
		return BlastRadiusResult{Note: fmt.Sprintf("nothing to compare: no configured registry holds image %s", in.ImageID)}, nil
	}
	base, k := OwnLayers(bad, scan.Images)
	radius := &incident.BlastRadius{Base: base, OwnLayers: bad.Layers[k:], Scanned: len(scan.Images), Truncated: scan.Truncated,
		Affected: []incident.AffectedImage{}}
	for _, img := range scan.Images {
		if img.Config == bad.Config {
			continue
		}
		shared := 0
		for _, l := range radius.OwnLayers {
			if slices.Contains(img.Layers, l) {
				shared++
			}
		}
		if shared > 0 {
			radius.Affected = append(radius.Affected, incident.AffectedImage{Repository: img.Repository, Tags: img.Tags,
				Digest: img.Digest, Shared: shared, BuiltOn: isPrefix(bad.Layers, img.Layers)})
		}
	}
	return BlastRadiusResult{Radius: radius}, nil
}

// badImage finds the bad image's layers: under a tag the scan read, else
// by a known digest (the tags pushed since moved away from it).
func (r *Registries) badImage(ctx context.Context, in BlastRadiusInput, scanned []registry.Image) (registry.Image, bool) {
	for _, img := range scanned {
		if img.Config == in.ImageID && len(img.Layers) > 0 {
			return img, true
		}
	}
	for _, ref := range append(slices.Clone(in.Known), r.superseded(ctx, in.ImageID, nil)...) {
		if _, ok := r.Client.HostOf(ref); !ok {
			continue
		}
		imgs, err := r.Client.Image(ctx, ref)
		if err != nil {
			continue
		}
		for _, img := range imgs {
			if img.Config == in.ImageID && len(img.Layers) > 0 {
				return img, true
			}
		}
	}
	return registry.Image{}, false
}

// OwnLayers says where the bad image's own layers start: the count k of
// bottom layers that belong to its base, and which base that is. The bad
// image's own layers are bad.Layers[k:]. The rule, first that applies:
//
//  1. The base its manifest or config declares (org.opencontainers.image.base.digest
//     or .name), when that image is among those scanned and its layers are a
//     proper prefix of the bad image's.
//  2. Otherwise the longest run of bottom layers it shares with any scanned
//     image that is not built on it (whose layers do not start with all of
//     the bad image's): its base image itself, an earlier version of the
//     same repository, or a sibling built from the same base. What the bad
//     image shares with an image that was not built on it, it did not add.
//  3. Otherwise none: every layer is its own (FROM scratch, or a base in no
//     configured registry).
//
// At least its top layer is always its own.
func OwnLayers(bad registry.Image, scanned []registry.Image) (string, int) {
	if bad.Base != "" {
		for _, img := range scanned {
			if declares(bad.Base, img) && len(img.Layers) < len(bad.Layers) && isPrefix(img.Layers, bad.Layers) {
				return fmt.Sprintf("%s, declared as its base (%d layer(s))", imageName(img), len(img.Layers)), len(img.Layers)
			}
		}
	}
	k, from := 0, ""
	for _, img := range scanned {
		if img.Config == bad.Config || isPrefix(bad.Layers, img.Layers) {
			continue
		}
		if n := commonPrefix(bad.Layers, img.Layers); n > k {
			k, from = n, imageName(img)
		}
	}
	if k == 0 {
		return "none found: every layer counted as its own", 0
	}
	return fmt.Sprintf("the %d bottom layer(s) it shares with %s, which is not built on it", k, from), k
}

// declares says whether base, a digest or a reference, names img.
func declares(base string, img registry.Image) bool {
	if strings.HasPrefix(base, "sha256:") {
		return base == img.Digest || base == img.Index
	}
	return slices.ContainsFunc(img.Tags, func(t string) bool {
		ref := img.Repository + ":" + t
		return base == ref || strings.HasSuffix(ref, "/"+base)
	})
}

func imageName(img registry.Image) string {
	if len(img.Tags) > 0 {
		return img.Repository + ":" + img.Tags[0]
	}
	return img.Ref()
}

func isPrefix(prefix, of []string) bool {
	return len(prefix) <= len(of) && slices.Equal(prefix, of[:len(prefix)])
}

func commonPrefix(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
