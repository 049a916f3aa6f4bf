package app

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/quell-ir/quell/internal/audit"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/evidence"
)

// upkeepEvery is how often the worker looks after its evidence store.
const upkeepEvery = 5 * time.Minute

// upkeep is the worker's pass over its evidence store: it asks the
// timestamp authority for the tokens that folders sealed while it was down
// lack, and removes evidence past its retention that no hold keeps,
// recording each removal in the audit log.
type upkeep struct {
	store     *evidence.Store
	actor     evidence.Actor
	retention time.Duration // 0: keep
	audit     *audit.Log
	log       *slog.Logger
	now       func() time.Time

	stop chan struct{}
	done sync.WaitGroup
}

// needed reports whether there is anything to look after.
func (u *upkeep) needed() bool { return u.store.Timestamping() || u.retention > 0 }

// pass runs once.
func (u *upkeep) pass(ctx context.Context) {
	if u.store.Timestamping() {
		done, err := u.store.TimestampPending(ctx, u.actor)
		for _, id := range done {
			u.log.Info("evidence timestamped late", "incident", id)
		}
		if err != nil {
			u.log.Warn("evidence: the timestamp authority did not answer; trying again later", "err", err)
		}
	}
	if u.retention > 0 {
		expired, err := u.store.Expire(u.retention, u.now(), false)
		for _, x := range expired {
			if !x.Removed {
				continue
			}
			u.log.Info("evidence removed: past its retention", "incident", x.IncidentID, "sealed", x.Since, "retention", u.retention)
			aerr := u.audit.Append(audit.Event{
				Principal: u.actor.Who, Via: "worker", Action: "evidence.expire", Incident: x.IncidentID, Outcome: audit.Accepted,
				Reason: "sealed " + x.Since.UTC().Format(time.RFC3339) + ", older than the retention of " + u.retention.String(),
			})
			if aerr != nil {
				u.log.Error("evidence removal not audited", "incident", x.IncidentID, "err", aerr)
			}
		}
		if err != nil {
			u.log.Warn("evidence retention", "err", err)
		}
	}
}

// start runs a pass now and every upkeepEvery until halt.
func (u *upkeep) start() {
	u.stop = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	u.done.Add(1)
	go func() {
		defer u.done.Done()
		defer cancel()
		tick := time.NewTicker(upkeepEvery)
		defer tick.Stop()
		for {
			u.pass(ctx)
			select {
			case <-u.stop:
				return
			case <-tick.C:
			}
		}
	}()
	go func() {
		<-u.stop
		cancel()
	}()
}

// halt stops the passes and waits for the one running.
func (u *upkeep) halt() {
	if u.stop == nil {
		return
	}
	close(u.stop)
	u.done.Wait()
	u.stop = nil
}

// SigningKey is the collector's evidence signing key: the configured file,
// which must exist, or the data dir's, created on first start.
func SigningKey(cfg config.Config) (ed25519.PrivateKey, error) {
	if f := cfg.Evidence.SigningKeyFile; f != "" {
		return evidence.LoadKey(f)
	}
	return evidence.LoadOrCreateKey(filepath.Join(cfg.DataDir, evidence.KeyFile))
}
