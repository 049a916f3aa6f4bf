// Command quell-bench measures quell against a real `quell dev` process on
// the local Docker daemon and prints a table: alert → contained against the
// raw Docker API and a docker-CLI script responder, simultaneous incidents,
// intake storms, evidence throughput and quell dev's footprint. It writes
// the figures to bench/results.json.
//
//	go run ./cmd/quell-bench              # the full run (make bench)
//	BENCH_QUICK=1 go run ./cmd/quell-bench  # a small run, about two minutes
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

	"github.com/quell-ir/quell/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quell-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	quick := os.Getenv("BENCH_QUICK") != "" && os.Getenv("BENCH_QUICK") != "0"
	cfg := bench.Config{Log: os.Stderr}
	out := flag.String("out", "bench/results.json", "where to write the figures as JSON")
	flag.BoolVar(&cfg.Quick, "quick", quick, "a small run of every figure (default from BENCH_QUICK)")
	flag.StringVar(&cfg.Repo, "repo", ".", "module root to build cmd/quell from")
	flag.StringVar(&cfg.Quell, "quell", "", "quell binary to measure (default: build one from -repo)")
	flag.StringVar(&cfg.Sample, "falco-sample", "../shared/samples/falco-website_docs-outputs-channels_terminal-shell.json",
		"Falco sample alert the alerts are made from")
	flag.IntVar(&cfg.StormClients, "storm-clients", 50, "concurrent HTTP clients in the intake storms")
	flag.IntVar(&cfg.Simultaneous, "simultaneous", 0, "containers alerted at once (default 200, or 30 when quick)")
	flag.StringVar(&cfg.Talon, "talon", os.Getenv("QUELL_BENCH_TALON"), "a falco-talon binary, built outside this repository, to measure the pod figure against (default from QUELL_BENCH_TALON)")
	figures := flag.String("figures", "", "comma-separated figures to run: contain, pod, simultaneous, evidence, storm (default: all)")
	flag.Parse()
	if *figures != "" {
		cfg.Figures = strings.Split(*figures, ",")
	}

	results, problems, err := bench.Run(ctx, cfg)
	if len(results) > 0 {
		fmt.Println()
		if perr := bench.PrintTable(os.Stdout, results); perr != nil {
			return perr
		}
		for _, p := range problems {
			fmt.Println("problem:", p)
		}
		if werr := bench.WriteJSON(*out, results); werr != nil {
			return werr
		}
		fmt.Println("\nwrote", *out)
	}
	return err
}
