// Command quell-chaos runs quell's durability trials against the local
// Docker daemon: workers killed at each step boundary of the
// compromised-container playbook, mid-export, mid-rebuild and
// mid-replacement, a whole quell dev killed and restarted, the daemon
// unreachable mid-snapshot, Slack down during an incident. It prints one
// line per trial, `PASS <name>` or `FAIL <name>: <reason>`, then
// `N passed, M failed`, and exits non-zero when a trial failed.
//
//	go run ./cmd/quell-chaos                # make chaos
//	CHAOS_QUICK=1 go run ./cmd/quell-chaos  # less data, a 5 s outage
//	go run ./cmd/quell-chaos -run recovery  # the trials whose names contain "recovery"
//
// Everything it creates on the daemon is labelled quell.test=1 and
// quell.bench=1 and removed when it ends, also on error or Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/quell-ir/quell/internal/bench/chaos"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := run(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "quell-chaos:", err)
		os.Exit(1)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

func run(ctx context.Context) (int, error) {
	quick := os.Getenv("CHAOS_QUICK") != "" && os.Getenv("CHAOS_QUICK") != "0"
	cfg := chaos.Config{Out: os.Stdout, Log: os.Stderr}
	flag.BoolVar(&cfg.Quick, "quick", quick, "the small form of every trial (default from CHAOS_QUICK)")
	flag.StringVar(&cfg.Repo, "repo", ".", "module root to build cmd/quell from")
	flag.StringVar(&cfg.Quell, "quell", "", "quell binary to try (default: build one from -repo)")
	flag.StringVar(&cfg.Sample, "falco-sample", "../shared/samples/falco-website_docs-outputs-channels_terminal-shell.json",
		"Falco sample alert the alerts are made from")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the run's directory: process logs, evidence, reports")
	only := flag.String("run", "", "comma-separated parts of the names of the trials to run (default: all)")
	flag.Parse()
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
	}
	return chaos.Run(ctx, cfg)
}
