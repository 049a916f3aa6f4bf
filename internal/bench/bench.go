// Package bench measures quell against the real Docker daemon and a real
// `quell dev` process, and compares it with the least any responder must do
// (the raw Docker API, a floor) and with what users wire up today (a
// Falcosidekick-style webhook that calls the docker CLI, a peer):
//
//   - alert → contained: from an alert's POST to the container being cut off
//     its network and paused, as the daemon's events report it;
//   - alert → pod quarantined: from a Falco alert's POST about a pod to its
//     NetworkPolicy and its release from its ReplicaSet seen on a watch of a
//     real API server (kubecp);
//   - simultaneous incidents: many containers alerted at once;
//   - intake storm: alerts per second and answer latency, on one unit and
//     on many;
//   - evidence: filesystem export and hashing throughput;
//   - footprint: quell dev's time to ready and resident memory.
//
// Run is the whole benchmark; cmd/quell-bench is its command line.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/quell-ir/quell/internal/bench/rig"
)

// Config configures a run.
type Config struct {
	// Quick runs a small version of every figure, in about two minutes.
	Quick bool
	// Repo is the module root cmd/quell is built from.
	Repo string
	// Quell is a quell binary to use instead of building one.
	Quell string
	// Sample is the Falco sample alert the alerts are made from.
	Sample string
	// StormClients bounds the concurrent HTTP clients of the intake storm.
	StormClients int
	// Simultaneous is how many containers are alerted at once; 0 takes the
	// run's default (200, or 30 when quick).
	Simultaneous int
	// Figures selects figures by name (contain, pod, simultaneous, evidence,
	// storm); empty runs them all. Start-up and idle memory are always measured.
	Figures []string
	// Talon is a Falco Talon binary to measure the pod figure against;
	// empty: that peer is not measured (and the run says so).
	Talon string
	// Log receives progress lines.
	Log io.Writer
}

// sizes are a run's sample counts and sizes.
type sizes struct {
	incidents    int // alert → contained samples, each of quell, floor and peer
	simultaneous int // containers alerted at once
	stormUnits   int // containers in the many-unit intake storm
	stormPerUnit int // alerts about each of them
	oneUnit      int // alerts in the one-unit storm, all counted by one incident (its tally past alert_history)
	evidenceMB   int // data written into each evidence container
	evidenceRuns int // evidence samples, each of quell and raw
	pods         int // alert → pod quarantined samples, each of quell and floor
}

func sizesFor(quick bool) sizes {
	if quick {
		return sizes{incidents: 10, simultaneous: 30, stormUnits: 40, stormPerUnit: 100, oneUnit: 10000, evidenceMB: 64, evidenceRuns: 1, pods: 10}
	}
	return sizes{incidents: 50, simultaneous: 200, stormUnits: 200, stormPerUnit: 100, oneUnit: 50000, evidenceMB: 384, evidenceRuns: 3, pods: 40}
}

// bench is one run.
type bench struct {
	cfg   Config
	size  sizes
	lab   *rig.Lab
	dir   string // the run's scratch directory: binaries, data dirs, logs
	bin   string // the quell binary
	alert rig.Alert
	dev   *rig.Quell // quell dev with the built-in playbooks
	// temporal reads histories from dev's embedded Temporal.
	temporal client.Client
	// perDisconnect is how many events the daemon logs per disconnect.
	perDisconnect int

	results  []Result
	problems []string
}

// Run runs every figure and returns the results, with an error joining
// every figure that could not be measured. It removes everything it
// created, on the daemon and on disk, before it returns.
func Run(ctx context.Context, cfg Config) (results []Result, problems []string, err error) {
	b := &bench{cfg: cfg, size: sizesFor(cfg.Quick)}
	if cfg.Simultaneous > 0 {
		b.size.simultaneous = cfg.Simultaneous
	}
	if b.alert, err = rig.LoadAlert(cfg.Sample); err != nil {
		return nil, nil, err
	}
	if b.dir, err = os.MkdirTemp("", "quell-bench-"); err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(b.dir)
	if b.lab, err = rig.NewLab(ctx, ""); err != nil {
		return nil, nil, err
	}
	defer func() { err = errors.Join(err, b.closeLab()) }()
	if b.perDisconnect, err = b.lab.DisconnectEvents(ctx); err != nil {
		return nil, nil, err
	}
	if b.bin = cfg.Quell; b.bin == "" {
		b.logf("building quell")
		if b.bin, err = rig.BuildQuell(ctx, cfg.Repo, b.dir); err != nil {
			return nil, nil, err
		}
	}
	figures := []struct {
		name string
		run  func(context.Context) error
	}{
		{"start", b.startDev},
		{"contain", b.contain},
		{"pod", b.pod},
		{"simultaneous", b.simultaneous},
		{"evidence", b.evidence},
		{"storm", b.storm},
	}
	defer b.stopDev()
	b.host("start")
	var errs []error
	for _, f := range figures {
		if ctx.Err() != nil {
			errs = append(errs, context.Cause(ctx))
			break
		}
		if f.name != "start" && len(cfg.Figures) > 0 && !slices.Contains(cfg.Figures, f.name) {
			continue
		}
		b.logf("— %s", f.name)
		if err := f.run(ctx); err != nil {
			b.logf("%s: %v", f.name, err)
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	b.host("end")
	return b.results, b.problems, errors.Join(errs...)
}

// startDev starts quell dev with the built-in playbooks on a fresh data
// dir and records its start-up time and idle memory.
func (b *bench) startDev(ctx context.Context) error {
	dev, err := rig.StartDev(ctx, rig.DevOptions{Bin: b.bin, DataDir: filepath.Join(b.dir, "data"), LogDir: b.dir})
	if err != nil {
		return err
	}
	b.dev = dev
	if b.temporal, err = dialTemporal(dev); err != nil {
		return err
	}
	ready := dev.Ready.Sub(dev.Started)
	b.add(info("footprint: quell dev exec → ready (fresh data dir)", "ms", ms(ready), 1))
	if self, err := dev.SelfReported(); err == nil {
		b.add(info("footprint: quell dev ready, self-reported", "ms", ms(self), 1))
	}
	// Idle: after the embedded Temporal has settled.
	time.Sleep(3 * time.Second)
	rss, err := dev.RSS()
	if err != nil {
		return err
	}
	b.add(info("footprint: quell dev RSS idle", "MiB", mib(rss), 1))
	return nil
}

func (b *bench) stopDev() {
	if b.temporal != nil {
		b.temporal.Close()
		b.temporal = nil
	}
	if b.dev != nil {
		b.dev.Stop()
		b.dev = nil
	}
}

func (b *bench) closeLab() error {
	b.stopDev()
	err := b.lab.Close()
	if err != nil {
		b.logf("cleanup: %v", err)
	}
	if note := b.lab.LeakNote(); note != "" {
		b.logf("cleanup: %s", note)
	}
	return err
}

func (b *bench) add(r Result) { b.results = append(b.results, r) }

// problem records something a reader of the results must know.
func (b *bench) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.problems = append(b.problems, msg)
	b.logf("PROBLEM: %s", msg)
}

func (b *bench) logf(format string, args ...any) {
	if b.cfg.Log != nil {
		fmt.Fprintf(b.cfg.Log, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

// host records the host's one-minute load average: quell shares the
// machine's two cores with the daemon, the rig and whatever else runs.
func (b *bench) host(when string) {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return
	}
	load, err := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
	if err != nil {
		return
	}
	b.add(info("host: load average (1 min) at "+when, "", load, 1))
}
