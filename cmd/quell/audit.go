package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/quell-ir/quell/internal/audit"
)

// runAudit runs `quell audit verify`: it checks the audit log's hash chain
// offline and fails naming the first line that breaks.
func runAudit(ctx context.Context, args []string, stdout io.Writer) error {
	const usage = "usage: quell audit verify [--data-dir DIR | --config FILE]"
	if len(args) == 0 || args[0] != "verify" {
		return usageError(usage)
	}
	fs := flag.NewFlagSet("quell audit verify", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./.quell", "the data directory that holds audit.log")
	configFile := fs.String("config", "", "configuration file (YAML), for its data_dir")
	if rest, err := parseInterspersed(fs, args[1:]); err != nil || len(rest) > 0 {
		return usageError(usage)
	}
	dir, err := dataDirOf(fs, *configFile, *dataDir)
	if err != nil {
		return err
	}
	path := audit.Path(dir)
	head, err := audit.VerifyFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(stdout, "%s: ok, %d lines; last line's SHA-256 %s (keep it elsewhere to prove the log is not rewritten from the start)\n",
		path, head.Seq, head.Hash)
	return nil
}
