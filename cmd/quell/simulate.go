package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/quell-ir/quell/activities"
	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/internal/intake"
	"github.com/quell-ir/quell/playbooks"
)

// A simulation case is one recorded alert and what the playbooks should
// do with it, in DIR/<name>.yaml:
//
//	alert: ../samples/terminal-shell.json  # the detector's payload, relative to this file or absolute
//	source: falco                          # its format: falco, trivy or generic
//	line: 2                                # in a JSON Lines file, the 1-based line (default: a whole-file document)
//	expect:
//	  playbook: compromised-container      # the playbook that matches; "none" when none should
//	  refused: "no rule"                   # instead: intake refuses the alert, with this in the reason
//	  run: [contain, preserve]             # optional: exactly the steps that would run, in order
type simCase struct {
	Alert  string `json:"alert"`
	Source string `json:"source"`
	Line   int    `json:"line,omitempty"`
	Expect struct {
		Playbook string   `json:"playbook,omitempty"`
		Refused  string   `json:"refused,omitempty"`
		Run      []string `json:"run,omitempty"`
	} `json:"expect"`
}

// noPlaybook is what a case expects when no playbook should match.
const noPlaybook = "none"

// maxCaseFile bounds a case file and the alert it names, as intake bounds
// an alert's body.
const maxCaseFile = 1 << 20

// runPlaybookTest runs `quell playbook test DIR`: every case in DIR through
// intake's parser, playbook matching and plan mode (with no live unit, so
// it touches nothing and needs no daemon), printing one line per case; it
// fails when any case behaves otherwise than it expects.
func runPlaybookTest(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quell playbook test", flag.ContinueOnError)
	dir := fs.String("playbooks", "", "directory of playbooks (default: the built-in library)")
	rest, err := parseInterspersed(fs, args)
	if err != nil || len(rest) != 1 {
		return usageError("usage: quell playbook test CASES_DIR [--playbooks DIR]")
	}
	kinds, err := app.Kinds()
	if err != nil {
		return err
	}
	pbs, err := app.LoadPlaybooks(*dir, kinds)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(rest[0], "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: no cases (*.yaml)", rest[0])
	}
	failed := 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		got, err := simulate(f, func(c simCase, body []byte) (string, []string, error) {
			a, err := intake.Parsers[c.Source](body, time.Now().UTC())
			if err != nil {
				return "", nil, err
			}
			pb, ok := playbooks.Select(pbs, a)
			if !ok {
				return noPlaybook, nil, nil
			}
			var run []string
			for _, s := range kinds.PlanOf(pb, a, activities.InspectUnitResult{}).Steps {
				if s.Run {
					run = append(run, s.ID)
				}
			}
			return pb.Name, run, nil
		})
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s: %v\n", name, err)
			continue
		}
		fmt.Fprintf(stdout, "ok   %s: %s\n", name, got)
	}
	fmt.Fprintf(stdout, "%d cases, %d behave otherwise than expected\n", len(files), failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d cases behave otherwise than expected", failed, len(files))
	}
	return nil
}

// simulate reads the case in file and its alert, has decide say which
// playbook takes it and which steps would run, and returns what happened
// or how it differs from what the case expects.
func simulate(file string, decide func(c simCase, body []byte) (string, []string, error)) (string, error) {
	data, err := readBounded(file)
	if err != nil {
		return "", err
	}
	var c simCase
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return "", fmt.Errorf("case: %w", err)
	}
	switch {
	case c.Alert == "":
		return "", errors.New("case: no alert")
	case intake.Parsers[c.Source] == nil:
		return "", fmt.Errorf("case: source %q: want falco, trivy or generic", c.Source)
	case (c.Expect.Playbook == "") == (c.Expect.Refused == ""):
		return "", errors.New("case: expect one of playbook and refused")
	}
	path := c.Alert
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(file), path)
	}
	body, err := readBounded(path)
	if err != nil {
		return "", err
	}
	if c.Line > 0 {
		lines := bytes.Split(bytes.TrimRight(body, "\n"), []byte("\n"))
		if c.Line > len(lines) {
			return "", fmt.Errorf("case: line %d of %s, which has %d", c.Line, c.Alert, len(lines))
		}
		body = lines[c.Line-1]
	}
	pb, run, err := decide(c, body)
	switch {
	case err != nil && c.Expect.Refused != "" && strings.Contains(err.Error(), c.Expect.Refused):
		return "refused: " + err.Error(), nil
	case err != nil && c.Expect.Refused != "":
		return "", fmt.Errorf("alert refused: %v; want it refused for %q", err, c.Expect.Refused)
	case err != nil:
		return "", fmt.Errorf("alert refused: %v; want playbook %s", err, c.Expect.Playbook)
	case c.Expect.Refused != "":
		return "", fmt.Errorf("alert accepted (playbook %s); want it refused for %q", pb, c.Expect.Refused)
	case pb != c.Expect.Playbook:
		return "", fmt.Errorf("playbook %s; want %s", pb, c.Expect.Playbook)
	case c.Expect.Run != nil && !slices.Equal(run, c.Expect.Run):
		return "", fmt.Errorf("playbook %s would run %v; want %v", pb, run, c.Expect.Run)
	}
	if pb == noPlaybook {
		return "no playbook matches", nil
	}
	return fmt.Sprintf("playbook %s would run %s", pb, strings.Join(run, ", ")), nil
}

// readBounded reads a file of at most maxCaseFile bytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCaseFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCaseFile {
		return nil, fmt.Errorf("%s: over %d bytes", path, maxCaseFile)
	}
	return data, nil
}
