package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quell-ir/quell/internal/apiclient"
	"github.com/quell-ir/quell/internal/incident"
	"github.com/quell-ir/quell/internal/report"
)

// incidentUsage lists the incident subcommands.
const incidentUsage = "usage: quell incident list [--status S] | show ID | watch ID | approve|reject ID STEP [--comment TEXT] [--as NAME]" +
	" [--server URL] [--json]; the token is read from QUELL_TOKEN"

// apiFlags are the flags every command that talks to the API takes.
type apiFlags struct {
	server *string
	json   *bool
}

func newAPIFlags(fs *flag.FlagSet) apiFlags {
	return apiFlags{
		server: fs.String("server", envOr("QUELL_SERVER", "http://127.0.0.1:8080"), "the quell API (default $QUELL_SERVER, else http://127.0.0.1:8080)"),
		json:   fs.Bool("json", false, "print JSON"),
	}
}

func (f apiFlags) client() (*apiclient.Client, error) {
	return apiclient.New(*f.server, os.Getenv("QUELL_TOKEN"))
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// runIncident runs `quell incident ...` against the HTTP API.
func runIncident(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError(incidentUsage)
	}
	fs := flag.NewFlagSet("quell incident "+args[0], flag.ContinueOnError)
	api := newAPIFlags(fs)
	status := fs.String("status", "", "list: only incidents of this status")
	comment := fs.String("comment", "", "approve, reject: why")
	as := fs.String("as", "", "approve, reject: the approver's name, for a server with no credentials (quell dev); with QUELL_TOKEN the token's principal decides")
	rest, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return usageError(incidentUsage)
	}
	want := map[string]int{"list": 0, "show": 1, "watch": 1, "approve": 2, "reject": 2}
	if n, ok := want[args[0]]; !ok || len(rest) != n {
		return usageError(incidentUsage)
	}
	c, err := api.client()
	if err != nil {
		return usageError(err.Error())
	}
	switch args[0] {
	case "list":
		list, err := c.List(ctx)
		if err != nil {
			return err
		}
		if *status != "" {
			kept := list[:0]
			for _, s := range list {
				if s.Status == *status {
					kept = append(kept, s)
				}
			}
			list = kept
		}
		if *api.json {
			return printJSON(stdout, list)
		}
		printList(stdout, list, time.Now())
		return nil
	case "show":
		inc, err := c.Get(ctx, rest[0])
		if err != nil {
			return err
		}
		if *api.json {
			return printJSON(stdout, inc)
		}
		printIncident(stdout, inc)
		return nil
	case "watch":
		var shown map[string]string // step → status printed
		inc, err := c.Watch(ctx, rest[0], time.Second, func(inc incident.Incident) {
			if *api.json {
				_ = json.NewEncoder(stdout).Encode(inc)
				return
			}
			if shown == nil {
				fmt.Fprintf(stdout, "incident %s: %s on %s, playbook %s\n", inc.ID, inc.Rule, targetText(inc.Target), inc.Playbook)
				shown = map[string]string{}
			}
			for _, s := range inc.Steps {
				if shown[s.ID] != s.Status {
					shown[s.ID] = s.Status
					fmt.Fprintf(stdout, "%s  %-20s %-18s %s\n", time.Now().Format("15:04:05"), s.ID, s.Status, stepDetail(s))
				}
			}
		})
		if err != nil {
			return err
		}
		if !*api.json {
			fmt.Fprintf(stdout, "incident %s: %s%s\n", inc.ID, inc.Status, orEmpty(": ", inc.Resolution))
		}
		if inc.Status == incident.StatusFailed {
			return errors.New("the incident failed")
		}
		return nil
	}
	// approve, reject
	d, err := c.Decide(ctx, rest[0], incident.DecisionRequest{Step: rest[1], Decision: args[0], Approver: *as, Comment: *comment})
	if err != nil {
		return err
	}
	if *api.json {
		return printJSON(stdout, d)
	}
	fmt.Fprintf(stdout, "incident %s: step %s %sd by %s\n", rest[0], d.Step, d.Decision, d.Approver)
	return nil
}

// runReport runs `quell report ID --format md|html|json [-o FILE]`.
func runReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quell report", flag.ContinueOnError)
	api := newAPIFlags(fs)
	format := fs.String("format", "md", "md, html or json")
	out := fs.String("o", "", "write the report to this file instead of the terminal")
	rest, err := parseInterspersed(fs, args)
	if _, ok := report.FormatNamed(*format); err != nil || len(rest) != 1 || !ok {
		return usageError("usage: quell report ID [--format md|html|json] [-o FILE] [--server URL]; the token is read from QUELL_TOKEN")
	}
	c, err := api.client()
	if err != nil {
		return usageError(err.Error())
	}
	body, err := c.Report(ctx, rest[0], *format)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(body)
		return err
	}
	return os.WriteFile(*out, body, 0o640)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printList writes the incidents as a table.
func printList(w io.Writer, list []incident.Summary, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPLAYBOOK\tTARGET\tAGE")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Status, s.Playbook, targetText(s.Target), now.Sub(s.OpenedAt).Round(time.Second))
	}
	_ = tw.Flush()
}

// printIncident writes one incident for people.
func printIncident(w io.Writer, inc incident.Incident) {
	fmt.Fprintf(w, "incident %s\nstatus:   %s%s\nrule:     %s (%s)\ntarget:   %s\nplaybook: %s\n",
		inc.ID, inc.Status, orEmpty(": ", inc.Resolution), inc.Rule, inc.Priority, targetText(inc.Target), inc.Playbook)
	if d := inc.TimeToContain(); d > 0 {
		fmt.Fprintf(w, "contained in %s\n", d.Round(time.Millisecond))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSTEP\tKIND\tSTATUS\tDETAIL")
	for _, s := range inc.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, s.Kind, s.Status, stepDetail(s))
	}
	_ = tw.Flush()
}

// stepDetail is a step's error or summary, on one line.
func stepDetail(s incident.Step) string {
	d := s.Summary
	if s.Error != "" {
		d = "error: " + s.Error
	}
	return strings.Join(strings.Fields(d), " ")
}

func orEmpty(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
