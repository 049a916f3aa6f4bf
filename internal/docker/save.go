package docker

import (
	"context"
	"fmt"
	"io"
)

// SaveImage streams the image ref as a tar of its layers and config, as
// `docker save` writes it, so a committed image can be kept as a hashed
// file off the daemon.
func (c *Client) SaveImage(ctx context.Context, ref string) (io.ReadCloser, error) {
	rc, err := c.api.ImageSave(ctx, []string{ref})
	if err != nil {
		return nil, fmt.Errorf("save image %s: %w", ref, classify(err))
	}
	return rc, nil
}
