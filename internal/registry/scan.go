package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// DefaultScanLimit bounds how many tags a scan reads when the caller sets
// no limit.
const DefaultScanLimit = 10000

// scanJobs is how many manifests a scan reads at once.
const scanJobs = 8

// Scan is the result of walking the configured registries.
type Scan struct {
	// Repositories lists every repository walked, host/path.
	Repositories []string
	// Images lists each distinct image found by tag, with its tags.
	Images []Image
	// Truncated says the limit stopped the walk before its end.
	Truncated bool
}

// ScanOptions bound and report a scan.
type ScanOptions struct {
	// Limit bounds the tags read; 0 means DefaultScanLimit.
	Limit int
	// Progress, when set, is called with the count of tags read so far.
	Progress func(tags int)
}

// Scan lists every repository of every configured registry (the catalog
// API) and every image their tags point at, with its layers. A tag that
// vanishes while the scan runs is left out; any other failure ends it.
func (c *Client) Scan(ctx context.Context, o ScanOptions) (Scan, error) {
	limit := o.Limit
	if limit <= 0 {
		limit = DefaultScanLimit
	}
	var out Scan
	type job struct {
		repo string
		tags []string
		ref  string
	}
	var jobs []job
	for _, host := range c.order {
		repos, err := c.catalog(ctx, host)
		if err != nil {
			return out, err
		}
		for _, repo := range repos {
			tags, err := c.Tags(ctx, repo)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return out, err
			}
			out.Repositories = append(out.Repositories, repo)
			for _, t := range tags {
				if len(jobs) == limit {
					out.Truncated = true
					break
				}
				jobs = append(jobs, job{repo: repo, tags: []string{t}, ref: repo + ":" + t})
			}
		}
	}
	var (
		mu    sync.Mutex
		found = map[string]*Image{} // repository@digest -> image
		errs  []error
		done  int
	)
	sem := make(chan struct{}, scanJobs)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, err := c.parse(j.ref)
			var imgs []Image
			if err == nil {
				imgs, err = c.images(ctx, r, j.tags)
			}
			mu.Lock()
			defer mu.Unlock()
			done++
			if o.Progress != nil {
				o.Progress(done)
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
				return
			}
			for _, img := range imgs {
				key := img.Repository + "@" + img.Digest
				if prev, ok := found[key]; ok {
					prev.Tags = append(prev.Tags, img.Tags...)
					continue
				}
				found[key] = &img
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return out, err
	}
	for _, k := range slices.Sorted(maps.Keys(found)) {
		img := *found[k]
		slices.Sort(img.Tags)
		out.Images = append(out.Images, img)
	}
	return out, nil
}

// catalog lists a configured registry's repositories, host/path.
func (c *Client) catalog(ctx context.Context, host string) ([]string, error) {
	reg, err := c.registry(host)
	if err != nil {
		return nil, err
	}
	opts, err := c.options(ctx, reg)
	if err != nil {
		return nil, err
	}
	names, err := remote.Catalog(ctx, reg, opts...)
	if err != nil {
		return nil, fmt.Errorf("catalog of %s: %w", host, classify(err))
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if _, err := c.repository(host + "/" + n); err == nil {
			out = append(out, host+"/"+n)
		}
	}
	return out, nil
}

// Tags lists the tags of a repository, host/path. Errors wrap ErrNotFound
// for a repository that does not exist.
func (c *Client) Tags(ctx context.Context, repo string) ([]string, error) {
	r, err := c.repository(repo)
	if err != nil {
		return nil, err
	}
	opts, err := c.options(ctx, r.Registry)
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", repo, classify(err))
	}
	return tags, nil
}
