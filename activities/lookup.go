package activities

import (
	"context"
	"strings"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/docker"
)

// LookupInput is the input of LookupContainer.
type LookupInput struct {
	// Target names a container by name alone.
	Target alert.Target `json:"target"`
}

// LookupResult is the target completed from Docker.
type LookupResult struct {
	// Target has the container's full ID, name and image.
	Target alert.Target `json:"target"`
}

// LookupContainer finds the container an alert names by name alone, so
// that the alert joins the incident of the container's ID like any other
// alert about it. Only a container of exactly that name answers: a name
// that is also an ID prefix of another container is no match.
func (d *Docker) LookupContainer(ctx context.Context, in LookupInput) (LookupResult, error) {
	name := strings.TrimPrefix(in.Target.ContainerName, "/")
	if name == "" {
		return LookupResult{}, permanentf(ErrTypeBadInput, "target names no container")
	}
	c, err := d.Runtime.Container(ctx, name)
	if err != nil {
		return LookupResult{}, classify(err, docker.ErrNotFound)
	}
	if c.Name != name {
		return LookupResult{}, permanentf(ErrTypeNotFound, "no container named %q (%q matches container %s by its ID)", name, name, c.ID)
	}
	return LookupResult{Target: completeTarget(in.Target, c)}, nil
}
