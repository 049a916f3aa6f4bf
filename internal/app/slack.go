package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/slack"
	"github.com/quell-ir/quell/internal/workflowclient"
	"github.com/quell-ir/quell/playbooks"
	"github.com/quell-ir/quell/workflows"
)

// slackConfig is the Slack part of cfg, for the adapter.
func slackConfig(cfg config.Config) slack.Config {
	s := cfg.Slack
	return slack.Config{BotToken: s.BotToken, AppToken: s.AppToken, SigningSecret: s.SigningSecret, Channel: s.Channel, APIURL: s.APIURL}
}

// notifier builds the Slack notifier, with links to the report and the
// Temporal UI.
func notifier(cfg config.Config) *slack.Notifier {
	base := strings.TrimSuffix(cfg.PublicURL, "/")
	if base == "" {
		base = "http://" + cfg.Listen
	}
	ui := strings.TrimSuffix(cfg.UIURL, "/")
	return slack.NewNotifier(slackConfig(cfg), func(id string) slack.Links {
		l := slack.Links{Report: base + "/v1/incidents/" + id + "/report"}
		if wf, run, err := workflowclient.ParseID(id); err == nil && ui != "" {
			l.Temporal = fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", ui, cfg.Temporal.Namespace, wf, run)
		}
		return l
	})
}

// slackHandler takes Slack's interaction requests, when a signing secret is
// configured.
func slackHandler(cfg config.Config, svc *workflowclient.Service, log *slog.Logger) http.Handler {
	if cfg.Slack.SigningSecret == "" {
		return nil
	}
	return &slack.Interactions{
		Secret: cfg.Slack.SigningSecret, Decider: workflowclient.SlackDecider{Service: svc}, Notifier: notifier(cfg), Log: log,
	}
}

// RunSlackSocketMode takes Slack's button clicks over Socket Mode (no public
// endpoint) until ctx ends, when an app token is configured.
func RunSlackSocketMode(ctx context.Context, cfg config.Config, svc *workflowclient.Service, log *slog.Logger) error {
	if cfg.Slack.AppToken == "" {
		return nil
	}
	return slack.RunSocketMode(ctx, slackConfig(cfg), workflowclient.SlackDecider{Service: svc}, notifier(cfg), log)
}

// ServeAPI serves the HTTP API on l, and Slack's Socket Mode when
// configured, until ctx ends.
func ServeAPI(ctx context.Context, l net.Listener, c client.Client, cfg config.Config, pbs []playbooks.Playbook, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := RunSlackSocketMode(ctx, cfg, Incidents(c, cfg, pbs), log); err != nil && ctx.Err() == nil {
			log.Error("slack socket mode stopped", "err", err)
		}
	}()
	return Serve(ctx, l, NewAPI(c, cfg, pbs, log))
}

// Warnings names what in the configuration will hold incidents up.
func Warnings(cfg config.Config, pbs []playbooks.Playbook) []string {
	var out []string
	for _, pb := range pbs {
		for _, s := range pb.Steps {
			switch {
			case s.Kind == workflows.KindApproval && len(workflows.ApprovalApprovers(s)) == 0 && len(cfg.Approvals.Approvers) == 0:
				out = append(out, fmt.Sprintf("playbook %s, step %s: nobody may approve (set approvals.approvers)", pb.Name, s.ID))
			case s.Kind == workflows.KindRebuild && len(cfg.Images) == 0:
				out = append(out, fmt.Sprintf("playbook %s, step %s: no trusted image sources (set images:)", pb.Name, s.ID))
			}
		}
	}
	return out
}
