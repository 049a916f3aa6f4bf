package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/playbooks"
	"github.com/quell-ir/quell/workflows"
)

// playbookUsage is the usage of `quell playbook`.
const playbookUsage = "usage: quell playbook validate FILE... | quell playbook schema | quell playbook test CASES_DIR [--playbooks DIR]"

// runPlaybook runs `quell playbook validate FILE...`, `quell playbook
// schema` and `quell playbook test DIR`.
func runPlaybook(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError(playbookUsage)
	}
	switch args[0] {
	case "validate":
		return runValidate(args[1:], stdout)
	case "schema":
		return runSchema(args[1:], stdout)
	case "test":
		return runPlaybookTest(args[1:], stdout)
	}
	return usageError(playbookUsage)
}

// runSchema prints the JSON Schema of playbook files, from the playbook
// types and the registry of step kinds (playbooks/schema.json is its
// published copy).
func runSchema(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError("usage: quell playbook schema")
	}
	kinds, err := app.Kinds()
	if err != nil {
		return err
	}
	_, err = stdout.Write(playbooks.SchemaJSON(kinds.Playbooks()))
	return err
}

// runValidate checks playbook files against the registry of step kinds.
func runValidate(files []string, stdout io.Writer) error {
	if len(files) == 0 {
		return usageError("usage: quell playbook validate FILE...")
	}
	kinds, err := app.Kinds()
	if err != nil {
		return err
	}
	reg := kinds.Playbooks()
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pb, err := playbooks.Parse(filepath.Base(f), data, reg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (playbook %q, %d steps)\n", f, pb.Name, len(pb.Steps))
	}
	return errors.Join(errs...)
}

// runSteps prints the registry of step kinds, each describing itself.
func runSteps(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quell steps", flag.ContinueOnError)
	rbac := fs.Bool("rbac", false, "print the Kubernetes ClusterRole the playbooks' step kinds need, as YAML")
	dir := fs.String("playbooks", "", "with --rbac: the playbooks folder (default: the built-in library)")
	name := fs.String("name", "quell", "with --rbac: the ClusterRole's name")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	kinds, err := app.Kinds()
	if err != nil {
		return err
	}
	if *rbac {
		return printClusterRole(stdout, kinds, *dir, *name)
	}
	for _, name := range kinds.Names() {
		k, _ := kinds.Kind(name)
		fmt.Fprintf(stdout, "%s\n  %s\n", k.Name, k.Description)
		var traits []string
		if k.Destructive {
			traits = append(traits, "destructive (needs an earlier snapshot)")
		}
		if k.Preserves {
			traits = append(traits, "preserves evidence")
		}
		if k.Gate {
			traits = append(traits, "human gate")
		}
		if k.Contains {
			traits = append(traits, "contains (first in its queue; heavy work waits for it)")
		}
		if k.Always {
			traits = append(traits, "runs even when the playbook stopped")
		}
		if len(traits) > 0 {
			fmt.Fprintf(stdout, "  traits: %s\n", strings.Join(traits, ", "))
		}
		if !k.Gate {
			fmt.Fprintf(stdout, "  task queue: %s\n", kinds.QueueOf(k.Name))
		}
		fmt.Fprintf(stdout, "  default timeout: %s\n", k.DefaultTimeout)
		for _, p := range k.Params {
			fmt.Fprintf(stdout, "  param %s (%s", p.Name, p.Type)
			if p.Default != nil {
				fmt.Fprintf(stdout, ", default %v", p.Default)
			}
			if len(p.Enum) > 0 {
				fmt.Fprintf(stdout, ", one of %s", strings.Join(p.Enum, "|"))
			}
			fmt.Fprintf(stdout, "): %s\n", p.Description)
		}
		if len(k.Needs) > 0 {
			fmt.Fprintf(stdout, "  needs: %s\n", strings.Join(k.Needs, ", "))
		}
		undo := k.Undo
		if undo == "" {
			undo = "none"
		}
		fmt.Fprintf(stdout, "  undo: %s\n\n", undo)
	}
	return nil
}

// printClusterRole prints, as YAML, the ClusterRole that the Kubernetes
// step kinds of the playbooks in dir (the library when empty) need.
func printClusterRole(stdout io.Writer, kinds *workflows.Registry, dir, name string) error {
	pbs, err := app.LoadPlaybooks(dir, kinds)
	if err != nil {
		return err
	}
	out, err := yaml.Marshal(app.ClusterRole(name, kinds, pbs))
	if err != nil {
		return fmt.Errorf("cluster role: %w", err)
	}
	fmt.Fprintln(stdout, "# The ClusterRole that quell's Kubernetes step kinds need, from their declarations: quell steps --rbac")
	_, err = stdout.Write(out)
	return err
}

func runVersion(ctx context.Context, args []string, stdout io.Writer) error {
	fmt.Fprintln(stdout, "quell", app.VersionString())
	return nil
}
