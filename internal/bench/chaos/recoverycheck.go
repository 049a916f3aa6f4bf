package chaos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/docker"
	"github.com/quell-ir/quell/internal/evidence"
	"github.com/quell-ir/quell/internal/incident"
)

// checkRecovery checks a recovery trial from the daemon's events since the
// alert and the daemon's state: the compromised unit was cut off each
// network once and paused once, and never reconnected or thawed; each unit
// got exactly one replacement (create events of containers labelled
// quell.replaces=<unit>), running from the rebuilt image with the unit's
// name and networks, and was destroyed exactly once; the bad image was
// deleted exactly once and its tag now names the rebuilt image, the one
// image built for the incident; the build log's evidence verifies.
func (r *run) checkRecovery(ctx context.Context, v *victim, inc incident.Incident) []error {
	if inc.Image == nil || inc.Image.NewImageID == "" {
		return []error{errors.New("the incident records no rebuilt image")}
	}
	var errs []error
	for i, u := range v.units {
		for _, err := range r.checkUnit(ctx, v, u, i == 0, inc) {
			errs = append(errs, fmt.Errorf("unit %s: %w", u.Name, err))
		}
	}
	errs = append(errs, r.checkImages(ctx, v, inc.Image.NewImageID)...)
	store := evidence.NewStore(filepath.Join(v.dataDir, "evidence"))
	res, err := store.Verify(ctx, v.id+"-rebuild", evidence.Actor{Who: "quell-chaos"}, nil)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("verify the build log's evidence: %w", err))
	case !res.OK():
		errs = append(errs, fmt.Errorf("the build log's evidence does not verify: %+v", res.Problems))
	}
	return errs
}

// checkUnit checks what happened to one unit and its replacement.
func (r *run) checkUnit(ctx context.Context, v *victim, u rig.Container, compromised bool, inc incident.Incident) []error {
	evs := r.lab.Events.Events(u.ID)
	var errs []error
	want := map[string]int{"destroy": 1, "unpause": 0, "connect": 0}
	if compromised {
		want["pause"], want["commit"] = 1, 1
		for _, nw := range u.Networks {
			if at := rig.Disconnects(evs, nw, v.since); len(at) != r.perDisconnect {
				errs = append(errs, fmt.Errorf("disconnect from %s happened %d/%d times, want 1 (at %s)", nw, len(at), r.perDisconnect, times(at)))
			}
		}
	} else {
		// Stopping it disconnects it from its networks: only the pause
		// would be the incident's mistake.
		want["pause"] = 0
	}
	for _, action := range slices.Sorted(maps.Keys(want)) {
		if n := rig.Count(evs, action, v.since); n != want[action] {
			errs = append(errs, fmt.Errorf("%s happened %d times, want %d (at %s)", action, n, want[action], times(when(evs, action, v.since))))
		}
	}
	if _, err := r.lab.Docker.Container(ctx, u.ID); !errors.Is(err, docker.ErrNotFound) {
		errs = append(errs, fmt.Errorf("quarantined container still on the daemon (%v)", err))
	}
	made := r.lab.Events.Created(labelReplaces, u.ID)
	if len(made) != 1 {
		return append(errs, fmt.Errorf("%d replacements created, want 1: %v", len(made), made))
	}
	recorded, ok := inc.Unit(u.ID)
	if !ok || recorded.Replacement == nil || recorded.Replacement.ContainerID != made[0] || !recorded.Removed {
		errs = append(errs, fmt.Errorf("the incident records %+v, want replacement %s and the unit removed", recorded, short(made[0])))
	}
	return append(errs, r.checkReplacement(ctx, v, u, made[0], inc.Image.NewImageID)...)
}

// checkReplacement checks the unit's replacement runs the clean image with
// the unit's name and networks and was never destroyed.
func (r *run) checkReplacement(ctx context.Context, v *victim, u rig.Container, id, clean string) []error {
	var errs []error
	if n := rig.Count(r.lab.Events.Events(id), "destroy", v.since); n != 0 {
		errs = append(errs, fmt.Errorf("replacement %s destroyed %d times", short(id), n))
	}
	c, err := r.lab.Docker.Container(ctx, id)
	if err != nil {
		return append(errs, fmt.Errorf("replacement: %w", err))
	}
	if !c.Running || c.Paused || c.ImageID != clean || c.Name != u.Name {
		errs = append(errs, fmt.Errorf("replacement %s is %q running %t paused %t from %s, want %q running from the rebuilt image %s",
			short(id), c.Name, c.Running, c.Paused, short(c.ImageID), u.Name, short(clean)))
	}
	atts, err := r.lab.Docker.Attachments(ctx, id)
	if err != nil {
		return append(errs, fmt.Errorf("replacement %s: %w", short(id), err))
	}
	var nets []string
	for _, a := range atts {
		nets = append(nets, a.Network)
	}
	slices.Sort(nets)
	if want := slices.Sorted(slices.Values(u.Networks)); !slices.Equal(nets, want) {
		errs = append(errs, fmt.Errorf("replacement %s is on networks %v, want the unit's %v (its events: %s)",
			short(id), nets, want, actions(r.lab.Events.Events(id))))
	}
	return errs
}

// checkImages checks the bad image was deleted once and the rebuilt one
// took its tag.
func (r *run) checkImages(ctx context.Context, v *victim, clean string) []error {
	var errs []error
	evs := r.lab.Events.Events(v.app.id)
	if n := rig.Count(evs, "delete", v.since); n != 1 {
		errs = append(errs, fmt.Errorf("bad image %s deleted %d times, want 1 (at %s)", short(v.app.id), n, times(when(evs, "delete", v.since))))
	}
	if _, err := r.lab.Docker.ImageInspect(ctx, v.app.id); !errors.Is(err, docker.ErrNotFound) {
		errs = append(errs, fmt.Errorf("bad image %s still on the daemon (%v)", short(v.app.id), err))
	}
	if id, err := r.lab.Docker.ImageID(ctx, v.app.ref); err != nil || id != clean {
		errs = append(errs, fmt.Errorf("%s names %s (%v), want the rebuilt image %s", v.app.ref, short(id), err, short(clean)))
	}
	built, err := r.lab.Docker.ImagesByLabel(ctx, labelIncident, v.id)
	if err != nil || len(built) != 1 || built[0].ID != clean {
		errs = append(errs, fmt.Errorf("images labelled %s=%s: %d (%v), want the rebuilt image alone", labelIncident, v.id, len(built), err))
	}
	return errs
}

// actions lists events as "action" or "action network", for messages.
func actions(evs []rig.Event) string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = strings.TrimSpace(e.Action + " " + e.Network)
	}
	return strings.Join(out, ", ")
}

// short is an ID as Docker prints it.
func short(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
}
