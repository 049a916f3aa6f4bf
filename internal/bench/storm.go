package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/incident"
)

// stormPlaybook takes every alert and parks its incident on an approval
// gate nobody answers: the one-unit storm measures intake (parse, match,
// the signal-with-start Temporal records before quell answers 202), not
// the worker. Its alerts name a container that does not exist.
const stormPlaybook = `name: bench-storm
description: Intake storm target. Each incident waits on an approval nobody gives.
match:
  source: falco
  target: docker
  min_priority: debug
  rules: ["*"]
  required_fields: [target.container_id]
steps:
  - id: hold
    kind: approval
    timeout: 1h
    with: {approvers: [nobody]}
`

// stormContainTag marks the alerts of the many-unit storm, which name real
// containers: stormContainPlaybook, listed first, contains them and then
// holds them open, counting the alerts that follow.
const stormContainTag = "quell-bench-contain"

const stormContainPlaybook = `name: bench-storm-contain
description: Intake storm over many real containers. Each is contained, then its incident waits on an approval nobody gives.
match:
  source: falco
  target: docker
  min_priority: debug
  rules: ["*"]
  tags: [` + stormContainTag + `]
  required_fields: [target.container_id]
steps:
  - id: contain
    kind: docker:isolate
    timeout: 30s
    retry: {max_attempts: 5, initial_interval: 200ms}
  - id: hold
    kind: approval
    timeout: 1h
    with: {approvers: [nobody]}
`

// storm measures alert intake on a quell dev of its own, with the storm
// playbooks, first with every alert about one unit, then with alerts about
// many running containers in turn.
func (b *bench) storm(ctx context.Context) error {
	b.stopDev() // the storm gets the machine to itself
	pbDir := filepath.Join(b.dir, "storm-playbooks")
	if err := os.MkdirAll(pbDir, 0o755); err != nil {
		return err
	}
	// Playbooks load in file name order, and the first that matches runs.
	for name, text := range map[string]string{"1-contain.yaml": stormContainPlaybook, "2-hold.yaml": stormPlaybook} {
		if err := os.WriteFile(filepath.Join(pbDir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	dev, err := rig.StartDev(ctx, rig.DevOptions{Bin: b.bin, Name: "quell-dev-storm",
		DataDir: filepath.Join(b.dir, "storm-data"), Playbooks: pbDir, LogDir: b.dir})
	if err != nil {
		return err
	}
	defer dev.Stop()
	api := rig.NewAPI(dev.API.URL, b.cfg.StormClients)
	return b.stormBoth(ctx, api)
}

func (b *bench) stormBoth(ctx context.Context, api *rig.API) error {
	unit, err := rig.RandomHex(6)
	if err != nil {
		return err
	}
	body := b.alert.For(unit)
	// A fixed count, however long it takes (bounded): the incident must
	// count exactly that many.
	start := time.Now()
	one := hammer(ctx, api, b.cfg.StormClients, 10*time.Minute, int64(b.size.oneUnit), func(int64) []byte { return body })
	b.logf("one unit: %d accepted, %d refused in %v (%v)", one.accepted, one.refused, one.elapsed, one.firstErr)
	lost, err := b.lost(ctx, api, one)
	if err != nil {
		return err
	}
	b.stormResults("one unit", one)
	b.counted("one unit", one, time.Since(start))
	b.add(absolute("intake storm, one unit: alerts lost (alerts_count)", "alerts", float64(lost), one.accepted, atMost(0, "0")))

	return b.stormMany(ctx, api)
}

// stormMany sends alerts about many running containers at once, each
// container's in turn, and checks that each container's incident counts
// exactly its alerts and contained it.
func (b *bench) stormMany(ctx context.Context, api *rig.API) error {
	units, perUnit := b.size.stormUnits, b.size.stormPerUnit
	tagged, err := b.alert.Tagged(stormContainTag)
	if err != nil {
		return err
	}
	nw, err := b.lab.Network(ctx)
	if err != nil {
		return err
	}
	b.logf("many units: starting %d containers", units)
	cs, err := b.lab.Containers(ctx, units, []string{nw})
	defer b.remove(cs)
	if err != nil {
		return err
	}
	bodies := make([][]byte, units)
	for i, c := range cs {
		bodies[i] = tagged.For(c.ID)
	}
	start := time.Now()
	many := hammer(ctx, api, b.cfg.StormClients, 10*time.Minute, int64(units*perUnit), func(i int64) []byte {
		return bodies[(i-1)%int64(units)]
	})
	b.logf("many units: %d accepted, %d refused in %v (%v)", many.accepted, many.refused, many.elapsed, many.firstErr)
	b.stormResults(fmt.Sprintf("%d units", units), many)
	if len(many.incidents) != units {
		b.problem("intake storm, %d units: alerts went to %d incidents", units, len(many.incidents))
	}
	// Every incident counts its unit's alerts exactly, and contained it.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	miscounted := 0
	for id, n := range many.incidents {
		inc, err := api.WaitIncident(ctx, id, 250*time.Millisecond, func(i incident.Incident) bool {
			return i.AlertsCount >= n
		})
		if err != nil || inc.AlertsCount != n {
			miscounted++
			b.logf("incident %s: counts %d alerts of the %d it answered (%v)", id, inc.AlertsCount, n, err)
		}
	}
	b.counted(fmt.Sprintf("%d units", units), many, time.Since(start))
	b.add(absolute(fmt.Sprintf("intake storm, %d units: incidents whose count is not exact", units), "incidents", float64(miscounted), len(many.incidents), atMost(0, "0")))
	notContained := 0
	for _, c := range cs {
		if _, err := b.waitContained(ctx, c, start, time.Minute); err != nil {
			notContained++
			b.logf("many units: %v", err)
		}
	}
	b.add(absolute(fmt.Sprintf("intake storm, %d units: containers not contained", units), "containers", float64(notContained), units, atMost(0, "0")))
	return nil
}

func (b *bench) stormResults(what string, r stormRun) {
	rate := float64(r.accepted) / r.elapsed.Seconds()
	b.add(absolute("intake storm, "+what+": accepted", "alerts/s", rate, r.accepted, atLeast(5000, "≥ 5,000/s")))
	b.add(info("intake storm, "+what+": answer p50", "ms", r.latencies.median(), len(r.latencies)))
	b.add(info("intake storm, "+what+": answer p99", "ms", r.latencies.percentile(99), len(r.latencies)))
	if r.refused > 0 {
		b.problem("intake storm, %s: %d alerts refused (first: %v)", what, r.refused, r.firstErr)
	}
}

// counted adds the rate at which a storm's alerts were counted in their
// incidents: those accepted over the time from the first until the
// incidents counted them all, so that alerts answered but still on their
// way through an inbox are not taken for done.
func (b *bench) counted(what string, r stormRun, took time.Duration) {
	b.add(info("intake storm, "+what+": counted in the incidents", "alerts/s", float64(r.accepted)/took.Seconds(), r.accepted))
}

// lost waits for the one unit's incident to count the accepted alerts and
// returns how many it never counted.
func (b *bench) lost(ctx context.Context, api *rig.API, r stormRun) (int, error) {
	if len(r.incidents) != 1 {
		return 0, fmt.Errorf("one unit: alerts went to %d incidents, want 1", len(r.incidents))
	}
	var id string
	for id = range r.incidents {
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	inc, err := api.WaitIncident(ctx, id, 500*time.Millisecond, func(i incident.Incident) bool {
		return i.AlertsCount >= r.accepted
	})
	if err != nil {
		b.logf("one unit: incident counts %d alerts of %d: %v", inc.AlertsCount, r.accepted, err)
	}
	return r.accepted - inc.AlertsCount, nil
}

// stormRun is the outcome of one storm.
type stormRun struct {
	accepted, refused int
	firstErr          error
	elapsed           time.Duration
	latencies         durations
	incidents         map[string]int // alerts per incident
}

// hammer posts alerts from clients concurrent clients for d, or until max
// alerts were sent (0: no limit); body(i) is the i-th alert.
func hammer(ctx context.Context, api *rig.API, clients int, d time.Duration, limit int64, body func(int64) []byte) stormRun {
	var next atomic.Int64
	var mu sync.Mutex
	out := stormRun{incidents: map[string]int{}}
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat durations
			ids := map[string]int{}
			var refused int
			var firstErr error
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := next.Add(1)
				if limit > 0 && i > limit {
					break
				}
				t := time.Now()
				o, _, err := api.PostAlert(ctx, body(i))
				if err != nil {
					refused++
					firstErr = cmpErr(firstErr, err)
					continue
				}
				lat = append(lat, time.Since(t))
				ids[o.IncidentID]++
			}
			mu.Lock()
			defer mu.Unlock()
			out.latencies = append(out.latencies, lat...)
			out.accepted += len(lat)
			out.refused += refused
			out.firstErr = cmpErr(out.firstErr, firstErr)
			for id, n := range ids {
				out.incidents[id] += n
			}
		}()
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	return out
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
