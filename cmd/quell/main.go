// Command quell is the incident-response orchestrator for containers: it
// takes detectors' alerts, runs playbooks as durable Temporal workflows and
// reports on them.
//
//	quell dev                       everything on one machine, embedded Temporal
//	quell serve                     the HTTP API against a Temporal cluster
//	quell worker                    the workflow and activity worker
//	quell playbook validate FILE... check playbooks
//	quell playbook schema           the JSON Schema of playbooks, for editors
//	quell playbook test DIR         replay recorded alerts through matching and plan mode
//	quell plan --alert FILE         what the matching playbook would do, touching nothing
//	quell steps                     the step kinds playbooks may use
//	quell incident list|show|watch  incidents, through the HTTP API
//	quell incident approve|reject   decide a step, as QUELL_TOKEN's principal
//	quell report ID --format F      an incident's report, through the HTTP API
//	quell token ...                 API tokens
//	quell blocks ...                admission blocks of bad images
//	quell audit verify              the audit log's hash chain
//	quell evidence pubkey           the collector's public key
//	quell evidence verify PATH      check a folder or bundle offline
//	quell evidence bundle ID -o F   one tar for an auditor
//	quell version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/worker"

	"github.com/quell-ir/quell/internal/app"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"dev", "run everything on one machine: embedded Temporal, worker and HTTP API", runDev},
		{"serve", "run the HTTP API against a Temporal cluster", runServe},
		{"worker", "run the workflow and activity worker against a Temporal cluster", runWorker},
		{"playbook", "playbook validate FILE... | schema | test DIR: check playbooks, print their JSON Schema, replay recorded alerts", runPlaybook},
		{"plan", "plan --alert FILE [--playbook FILE]: what the playbook would do to the live unit, touching nothing", runPlan},
		{"steps", "list the step kinds playbooks may use", runSteps},
		{"incident", "incident list | show ID | watch ID | approve|reject ID STEP: incidents through the HTTP API", runIncident},
		{"report", "report ID --format md|html|json [-o FILE]: an incident's report through the HTTP API", runReport},
		{"token", "token create|list|revoke|hash: API tokens kept as hashes in the data dir", runToken},
		{"blocks", "blocks list|lift INCIDENT: the admission blocks of bad images on the Kubernetes clusters", runBlocks},
		{"audit", "audit verify: check the audit log's hash chain", runAudit},
		{"evidence", "evidence pubkey | verify PATH | bundle ID -o FILE: the collector's key, offline checks, a bundle for an auditor", runEvidence},
		{"version", "print quell's version", runVersion},
	}
}

func main() {
	// Temporal's SDK would otherwise name this build by an MD5 of the
	// executable, reading all of it (about 0.4 s of CPU) as quell starts.
	worker.SetBinaryChecksum(app.VersionString())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "quell:", err)
		}
		os.Exit(exitCode(err))
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if err := servePprof(); err != nil {
				return err
			}
			return c.run(ctx, args[1:], stdout)
		}
	}
	usage(os.Stderr)
	return usageError(fmt.Sprintf("unknown command %q", args[0]))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: quell <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'quell <command> -h' for a command's flags.")
}

// usageError is a mistake on the command line: exit status 2.
type usageError string

func (e usageError) Error() string { return string(e) }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("QUELL_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
