package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/kube"
)

// runBlocks runs `quell blocks list` and `quell blocks lift INCIDENT`: the
// admission policies k8s:block-image left on the configured clusters.
func runBlocks(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quell blocks", flag.ContinueOnError)
	configFile := fs.String("config", "", "configuration file (YAML) naming the clusters")
	only := fs.String("cluster", "", "only this cluster")
	if len(args) == 0 || (args[0] != "list" && args[0] != "lift") {
		return usageError("quell blocks list | quell blocks lift INCIDENT [--cluster NAME] [--config FILE]")
	}
	verb := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return usageError(err.Error())
	}
	if verb == "lift" && fs.NArg() != 1 {
		return usageError("quell blocks lift INCIDENT: one incident ID")
	}
	cfg, err := config.Load(*configFile)
	if err != nil {
		return err
	}
	clusters, err := kube.NewClusters(cfg.Kubernetes)
	if err != nil {
		return err
	}
	names := clusters.Names()
	if *only != "" {
		names = []string{*only}
	}
	if len(names) == 0 {
		return fmt.Errorf("no Kubernetes cluster is configured (kubernetes.clusters)")
	}
	w := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	defer w.Flush()
	if verb == "list" {
		fmt.Fprintln(w, "CLUSTER\tINCIDENT\tSCOPE\tIMAGES\tSINCE")
	}
	for _, name := range names {
		c, err := clusters.Client(name)
		if err != nil {
			return err
		}
		if verb == "lift" {
			lifted, err := kube.LiftBlock(ctx, c, fs.Arg(0))
			if err != nil {
				return err
			}
			if lifted {
				fmt.Fprintf(w, "%s: lifted the block of incident %s\n", name, fs.Arg(0))
			} else {
				fmt.Fprintf(w, "%s: no block of incident %s\n", name, fs.Arg(0))
			}
			continue
		}
		blocks, err := kube.Blocks(ctx, c)
		if err != nil {
			return fmt.Errorf("cluster %s: %w", name, err)
		}
		for _, b := range blocks {
			scope := "cluster"
			if len(b.Namespaces) > 0 {
				scope = strings.Join(b.Namespaces, ",")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", name, b.IncidentID, scope, strings.Join(b.Images, " "), b.Created.UTC().Format("2006-01-02 15:04Z"))
		}
	}
	return nil
}
