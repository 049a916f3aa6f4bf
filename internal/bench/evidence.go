package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/client"

	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/incident"
)

// exportRun is one measured filesystem export.
type exportRun struct {
	bytes    int64
	took     time.Duration // from the daemon's export event to the file in place
	snapshot time.Duration // quell: the whole snapshot step
}

func (r exportRun) mibps() float64 { return mib(r.bytes) / r.took.Seconds() }

// evidence measures how fast quell exports and hashes a container with a
// large filesystem into its evidence folder, against a raw export through
// the API to a file, on twin containers filled with as much random data.
func (b *bench) evidence(ctx context.Context) error {
	k, mb := b.size.evidenceRuns, b.size.evidenceMB
	b.logf("starting %d containers with %d MiB each", 2*k, mb)
	cs, err := b.lab.Containers(ctx, 2*k, nil)
	defer b.remove(cs)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if err := b.lab.Fill(ctx, c.ID, "/loot.bin", mb); err != nil {
			return err
		}
	}
	var quell, raw []float64
	var snapshots durations
	for i := range k {
		r, err := b.rawExport(ctx, cs[2*i])
		if err != nil {
			return err
		}
		q, err := b.quellExport(ctx, cs[2*i+1])
		if err != nil {
			return err
		}
		b.logf("export %d/%d: quell %.0f MiB in %v (snapshot step %v), raw %.0f MiB in %v",
			i+1, k, mib(q.bytes), q.took, q.snapshot, mib(r.bytes), r.took)
		quell, raw, snapshots = append(quell, q.mibps()), append(raw, r.mibps()), append(snapshots, q.snapshot)
	}
	name := fmt.Sprintf("evidence: export + SHA-256 of %d MiB", mb)
	b.add(compared(name, "MiB/s", medianOf(quell), medianOf(raw), KindFloor, k, atLeast(0.9, "≥ 0.9× raw export")))
	b.add(info("  evidence: whole snapshot step (export, commit, logs...)", "ms", snapshots.median(), k))
	return nil
}

// rawExport pauses c as quell would, then streams its export through the
// API into a file.
func (b *bench) rawExport(ctx context.Context, c rig.Container) (exportRun, error) {
	api := b.lab.Docker.API()
	if _, err := api.ContainerPause(ctx, c.ID, client.ContainerPauseOptions{}); err != nil {
		return exportRun{}, fmt.Errorf("pause container %s: %w", c.Name, err)
	}
	f, err := os.Create(filepath.Join(b.dir, "raw-export.tar"))
	if err != nil {
		return exportRun{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	start := time.Now()
	rc, err := api.ContainerExport(ctx, c.ID, client.ContainerExportOptions{})
	if err != nil {
		return exportRun{}, fmt.Errorf("export container %s: %w", c.Name, err)
	}
	n, err := io.Copy(f, rc)
	rc.Close()
	if err != nil {
		return exportRun{}, fmt.Errorf("export container %s: %w", c.Name, err)
	}
	if err := f.Close(); err != nil {
		return exportRun{}, err
	}
	end := time.Now()
	began, err := b.exportEvent(ctx, c, start)
	if err != nil {
		return exportRun{}, err
	}
	return exportRun{bytes: n, took: end.Sub(began)}, nil
}

// quellExport alerts quell about c and times its export from the daemon's
// export event to the artifact's rename into place: streaming, hashing,
// fsync and rename.
func (b *bench) quellExport(ctx context.Context, c rig.Container) (exportRun, error) {
	start := time.Now()
	o, _, err := b.dev.API.PostAlert(ctx, b.alert.For(c.ID))
	if err != nil {
		return exportRun{}, err
	}
	final := filepath.Join(rig.EvidenceDir(b.dev.DataDir, o.IncidentID), "container", "filesystem.tar")
	end, err := waitFile(ctx, final, 10*time.Minute)
	if err != nil {
		return exportRun{}, err
	}
	st, err := os.Stat(final)
	if err != nil {
		return exportRun{}, err
	}
	began, err := b.exportEvent(ctx, c, start)
	if err != nil {
		return exportRun{}, err
	}
	inc, err := b.finish(ctx, o.IncidentID)
	if err != nil {
		return exportRun{}, err
	}
	run := exportRun{bytes: st.Size(), took: end.Sub(began)}
	for _, s := range inc.Steps {
		if s.Kind == "evidence:snapshot" && s.Status == incident.StepSucceeded && s.StartedAt != nil && s.FinishedAt != nil {
			run.snapshot = s.FinishedAt.Sub(*s.StartedAt)
		}
	}
	return run, nil
}

// exportEvent returns when the daemon began c's export, after since.
func (b *bench) exportEvent(ctx context.Context, c rig.Container, since time.Time) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	evs, err := b.lab.Events.Wait(ctx, c.ID, func(evs []rig.Event) bool { return rig.Count(evs, "export", since) > 0 })
	if err != nil {
		return time.Time{}, err
	}
	for _, e := range evs {
		if e.Action == "export" && !e.Time.Before(since) {
			return e.Time, nil
		}
	}
	return time.Time{}, fmt.Errorf("container %s: no export event", c.Name)
}

// waitFile polls every 5ms until path exists and returns when it saw it.
func waitFile(ctx context.Context, path string, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s not there after %v", path, timeout)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
