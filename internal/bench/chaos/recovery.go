package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/quell-ir/quell/internal/bench/rig"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/playbooks"
)

// The recovery trials run the built-in compromised-container playbook from
// its alert to its report: containment and evidence, then, once approved
// through the API, a clean image rebuilt from the trusted source the
// worker's configuration names, every unit of the bad image replaced by a
// container of the clean one, the quarantined units removed and the bad
// image deleted. Each trial has an image of its own, <repository>:<n>,
// built here from the same files as the trusted source but for a
// "poisoned" /version, and two units of it: the victim the alert names and
// a sibling that find-siblings adds.

const (
	// recoveryTag routes an alert to the recovery playbook.
	recoveryTag = "quell-chaos-recovery"
	// approver decides the approval step; the configuration lists it.
	approver = "quell-chaos"
	// approvalStep is the playbook's approval step.
	approvalStep = "approve-recovery"
	// labelReplaces is the label quell puts on a replacement: the ID of
	// the unit it replaces.
	labelReplaces = "quell.replaces"
	// labelIncident is the label quell puts on what it builds and creates.
	labelIncident = "quell.incident"
)

// recoverySetup is what the recovery trials share.
type recoverySetup struct {
	// repository is the image repository whose trusted source the
	// configuration names; each trial tags an image of its own in it.
	repository string
	// source is the trusted source directory.
	source  string
	busybox []byte
	alert   rig.Alert
	seq     int
}

// appImage is a recovery trial's bad image.
type appImage struct {
	ref, id string
}

// appDockerfile builds the recovery images in few steps, each of which
// costs the classic builder a container: labelled as the run's objects from
// the first step, so that intermediate images and containers are too.
func (r *run) appDockerfile() string {
	return fmt.Sprintf("FROM scratch\nLABEL %s=1 %s=1 %s=%s\nCOPY rootfs/ /\n", rig.LabelTest, rig.LabelBench, rig.LabelRun, r.lab.Run)
}

// appCmd is what the units run: a shell that stops at once on SIGTERM, so
// that replacing a unit does not wait out the stop timeout.
var appCmd = []string{"/bin/busybox", "sh", "-c", "trap 'exit 0' TERM; /bin/busybox sleep 86400 & wait"}

func (r *run) appFiles(version string) []rig.File {
	return []rig.File{
		{Name: "Dockerfile", Mode: 0o644, Data: []byte(r.appDockerfile())},
		{Name: "rootfs/bin/busybox", Mode: 0o755, Data: r.recovery.busybox},
		{Name: "rootfs/version", Mode: 0o644, Data: []byte(version + "\n")},
	}
}

// setupRecovery writes the trusted source, the recovery playbook and the
// configuration file of serve and worker.
func (r *run) setupRecovery() error {
	rs := &r.recovery
	var err error
	if rs.busybox, err = os.ReadFile(rig.Busybox); err != nil {
		return fmt.Errorf("static busybox (apt-get install busybox-static): %w", err)
	}
	if rs.alert, err = r.alert.Tagged(recoveryTag); err != nil {
		return err
	}
	rs.repository = "quell-bench/app-" + r.lab.Run
	rs.source = filepath.Join(r.dir, "trusted-source")
	if err := os.MkdirAll(rs.source, 0o755); err != nil {
		return err
	}
	for _, f := range r.appFiles("1 (clean)") {
		name := filepath.Join(rs.source, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(name, f.Data, os.FileMode(f.Mode)); err != nil {
			return err
		}
	}
	pb, err := recoveryPlaybook()
	if err != nil {
		return err
	}
	// Playbooks are tried in file-name order: this one, which takes only
	// the tagged alerts, comes before evidence.yaml, which takes any.
	if err := os.WriteFile(filepath.Join(r.playbooks, "compromised-container.yaml"), pb, 0o644); err != nil {
		return err
	}
	r.config = filepath.Join(r.dir, "quell.yaml")
	cfg := fmt.Sprintf("approvals:\n  approvers: [%s]\nimages:\n  - repository: %s\n    context: %q\n", approver, rs.repository, rs.source)
	if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
		return err
	}
	r.lab.Events.TrackLabel(labelReplaces, "")
	return nil
}

// recoveryPlaybook is the built-in compromised-container playbook, its
// steps and their settings untouched, matching only alerts tagged
// recoveryTag.
func recoveryPlaybook() ([]byte, error) {
	pb, err := playbooks.Library.ReadFile("library/compromised-container.yaml")
	if err != nil {
		return nil, fmt.Errorf("built-in playbook: %w", err)
	}
	const anyTags = "\n  tags: []"
	if bytes.Count(pb, []byte(anyTags)) != 1 {
		return nil, fmt.Errorf("built-in compromised-container playbook: no single %q line to narrow", anyTags)
	}
	return bytes.Replace(pb, []byte(anyTags), []byte("\n  tags: ["+recoveryTag+"]"), 1), nil
}

// prepareRecovery builds the trial's image and starts its two units, with
// data in the victim.
func (r *run) prepareRecovery(ctx context.Context, v *victim) error {
	r.recovery.seq++
	a := &appImage{ref: r.recovery.repository + ":" + strconv.Itoa(r.recovery.seq)}
	var err error
	if a.id, err = r.lab.Build(ctx, a.ref, r.appFiles("1 (poisoned)")); err != nil {
		return err
	}
	r.lab.Events.Track(a.id)
	units, err := r.lab.ContainersOf(ctx, a.ref, appCmd, 2, r.nets)
	if err != nil {
		return err
	}
	v.app, v.units, v.c = a, units, units[0]
	v.alert = r.recovery.alert.For(v.c.ID)
	return r.lab.Fill(ctx, v.c.ID, "/loot.bin", r.dataMB)
}

// approve decides the approval step as a responder would, through the
// API, once the incident waits for it, retrying until the API takes the
// decision: the worker may be down. The request ID makes the retries
// decide once. The channel gets the outcome.
func approve(ctx context.Context, v *victim) <-chan error {
	done := make(chan error, 1)
	go func() {
		waiting := func(inc incident.Incident) bool {
			st, ok := inc.Step(approvalStep)
			return ok && st.Status == incident.StepAwaitingApproval
		}
		if _, err := v.api.WaitIncident(ctx, v.id, 250*time.Millisecond, waiting); err != nil {
			done <- fmt.Errorf("approval: %w", err)
			return
		}
		d := rig.Decision{Step: approvalStep, Decision: "approve", Approver: approver, Comment: "chaos trial", RequestID: "quell-chaos-" + v.id}
		for {
			err := v.api.Decide(ctx, v.id, d)
			if err == nil {
				done <- nil
				return
			}
			select {
			case <-ctx.Done():
				done <- fmt.Errorf("approval: %w (last answer: %v)", ctx.Err(), err)
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return done
}

// building is the moment the image build has begun: the build log that
// quell keeps as evidence holds the daemon's first output.
func building(ctx context.Context, r *run, v *victim) error {
	dir := filepath.Join(rig.EvidenceDir(v.dataDir, v.id+"-rebuild"), "build")
	partial, done := filepath.Join(dir, ".attempt-1.log.partial"), filepath.Join(dir, "attempt-1.log")
	for {
		if st, err := os.Stat(partial); err == nil && st.Size() > 0 {
			return nil
		}
		if exists(done) {
			return errors.New("the build finished before its log was seen growing")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no build under way at %s: %w", partial, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// replacementCreated is the moment the daemon reports the creation of a
// unit's replacement, before the worker hears back: from the start of the
// replace step the proxy holds the daemon's answers for boundaryLag, so
// the worker has neither connected the replacement to the unit's other
// networks nor started it.
func replacementCreated(ctx context.Context, r *run, v *victim) error {
	if err := r.watchHistory(ctx, v, func(a activities) bool { return a.isScheduled("replace") }); err != nil {
		return err
	}
	r.proxy.Hold(boundaryLag)
	return r.lab.Events.Until(ctx, func() bool {
		for _, u := range v.units {
			if len(r.lab.Events.Created(labelReplaces, u.ID)) > 0 {
				return true
			}
		}
		return false
	})
}
