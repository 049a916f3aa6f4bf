package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/intake"
	"github.com/quell-ir/quell/playbooks"
)

// runPlan runs `quell plan --alert FILE [--playbook FILE]`: which playbook
// matches the alert and what its steps would change on the live unit,
// touching nothing.
func runPlan(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quell plan", flag.ContinueOnError)
	alertFile := fs.String("alert", "", "the alert, as its detector posts it (required)")
	source := fs.String("source", "falco", "the alert's format: falco, trivy or generic (quell's own)")
	playbookFile := fs.String("playbook", "", "plan this playbook instead of the one that matches")
	configFile := fs.String("config", "", "configuration file (YAML), as quell dev reads it")
	playbookDir := fs.String("playbooks", "", "directory of playbooks (default: the built-in library), as quell dev reads it")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	parse, ok := intake.Parsers[*source]
	if *alertFile == "" || fs.NArg() > 0 || !ok {
		return usageError("usage: quell plan --alert FILE [--source falco|trivy|generic] [--playbook FILE] [--config FILE] [--playbooks DIR] [--json]")
	}
	cfg, err := config.Load(*configFile)
	if err != nil {
		return err
	}
	setIf(fs, "playbooks", &cfg.Playbooks, *playbookDir)
	body, err := os.ReadFile(*alertFile)
	if err != nil {
		return err
	}
	a, err := parse(body, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("%s: %w", *alertFile, err)
	}
	var pbYAML []byte
	if *playbookFile != "" {
		if pbYAML, err = os.ReadFile(*playbookFile); err != nil {
			return err
		}
	}
	kinds, err := app.Kinds()
	if err != nil {
		return err
	}
	pbs, err := app.LoadPlaybooks(cfg.Playbooks, kinds)
	if err != nil {
		return err
	}
	planner, err := app.NewPlanner(cfg.Docker.Host, kinds, pbs)
	if err != nil {
		return err
	}
	plan, err := planner.Plan(ctx, a, pbYAML)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(plan)
	}
	printPlan(stdout, plan)
	return nil
}

// printPlan writes a plan for people.
func printPlan(w io.Writer, p playbooks.Plan) {
	mode := ""
	if p.DryRun {
		mode = " (a dry-run playbook: it would change nothing)"
	}
	fmt.Fprintf(w, "alert: rule %q (%s) on %s\nplaybook: %s%s%s\n", p.Rule, p.Priority, targetText(p.Target), p.Playbook, fileText(p.File), mode)
	for _, n := range p.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintln(w, "\nsteps (nothing was changed):")
	for i, s := range p.Steps {
		var tags []string
		if !s.Run {
			tags = append(tags, "skipped")
		}
		if s.DryRun {
			tags = append(tags, "dry run")
		}
		if s.Destructive {
			tags = append(tags, "destructive")
		}
		tag := ""
		if len(tags) > 0 {
			tag = " [" + strings.Join(tags, ", ") + "]"
		}
		fmt.Fprintf(w, "%2d. %s (%s)%s\n", i+1, s.ID, s.Kind, tag)
		if s.Why != "" {
			fmt.Fprintf(w, "      %s\n", s.Why)
		}
		for _, c := range s.Changes {
			fmt.Fprintf(w, "      - %s\n", c)
		}
	}
}

// targetText names a target briefly.
func targetText(t alert.Target) string {
	switch {
	case t.ContainerID != "" || t.ContainerName != "":
		return fmt.Sprintf("container %s", strings.TrimSpace(t.ContainerName+" "+t.ContainerID))
	case t.Pod != "":
		return fmt.Sprintf("pod %s/%s", t.Namespace, t.Pod)
	case t.ImageID != "" || t.Image != "":
		return fmt.Sprintf("image %s", strings.TrimSpace(t.Image+" "+t.ImageID))
	}
	return "no unit"
}

func fileText(f string) string {
	if f == "" {
		return ""
	}
	return " (" + f + ")"
}
