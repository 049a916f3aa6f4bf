package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/internal/audit"
	"github.com/quell-ir/quell/internal/config"
	"github.com/quell-ir/quell/internal/evidence"
)

// evidenceUsage lists the evidence subcommands.
const evidenceUsage = "usage: quell evidence pubkey [--data-dir DIR] | verify PATH [--key FILE] [--tsa-chain FILE] | bundle ID -o FILE [--data-dir DIR]" +
	" | hold ID --reason TEXT | release ID --reason TEXT | expire --older-than DURATION [--dry-run]"

// runEvidence runs `quell evidence`: the collector's public key, offline
// verification of a folder or bundle, and bundling for an auditor.
func runEvidence(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError(evidenceUsage)
	}
	switch args[0] {
	case "pubkey":
		return evidencePubkey(args[1:], stdout)
	case "verify":
		return evidenceVerify(ctx, args[1:], stdout)
	case "bundle":
		return evidenceBundle(args[1:], stdout)
	case "hold", "release":
		return evidenceHold(args[0], args[1:], stdout)
	case "expire":
		return evidenceExpire(args[1:], stdout)
	}
	return usageError(evidenceUsage)
}

// evidenceFlags parses --data-dir and --config with the command's own
// flags, returning the data dir and the positional arguments.
func evidenceFlags(fs *flag.FlagSet, args []string) (string, []string, error) {
	cfg, rest, err := evidenceConfig(fs, args)
	return cfg.DataDir, rest, err
}

// evidenceConfig parses --data-dir and --config with the command's own
// flags, returning the configuration (the flag's data dir over the
// file's) and the positional arguments.
func evidenceConfig(fs *flag.FlagSet, args []string) (config.Config, []string, error) {
	dataDir := fs.String("data-dir", "./.quell", "the data directory that holds evidence/ and keys/")
	configFile := fs.String("config", "", "configuration file (YAML), for its data_dir and evidence signing key")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return config.Config{}, nil, usageError(evidenceUsage)
	}
	cfg := config.Default()
	cfg.DataDir = *dataDir
	if *configFile != "" {
		if cfg, err = config.Load(*configFile); err != nil {
			return cfg, nil, err
		}
		setIf(fs, "data-dir", &cfg.DataDir, *dataDir)
	}
	return cfg, rest, nil
}

// evidencePubkey prints the collector's public key, creating the key as
// the worker's first start would.
func evidencePubkey(args []string, stdout io.Writer) error {
	cfg, rest, err := evidenceConfig(flag.NewFlagSet("quell evidence pubkey", flag.ContinueOnError), args)
	if err != nil || len(rest) > 0 {
		return usageError(evidenceUsage)
	}
	key, err := app.SigningKey(cfg)
	if err != nil {
		return err
	}
	_, err = stdout.Write(evidence.MarshalPublicKey(key.Public().(ed25519.PublicKey)))
	return err
}

// evidenceVerify checks a folder or a bundle offline and prints one line
// per check; it fails naming the first failure.
func evidenceVerify(ctx context.Context, args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("quell evidence verify", flag.ContinueOnError)
	keyFile := fset.String("key", "", "the collector's public key (PEM), from quell evidence pubkey")
	chainFile := fset.String("tsa-chain", "", "the timestamp authority's certificate chain (PEM), root last")
	rest, err := parseInterspersed(fset, args)
	if err != nil || len(rest) != 1 {
		return usageError(evidenceUsage)
	}
	var opts evidence.VerifyOptions
	if *keyFile != "" {
		data, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		if opts.PublicKey, err = evidence.ParsePublicKey(data); err != nil {
			return fmt.Errorf("%s: %w", *keyFile, err)
		}
	}
	if *chainFile != "" {
		if opts.TSAChain, err = os.ReadFile(*chainFile); err != nil {
			return err
		}
	}
	dir, cleanup, err := evidenceDir(rest[0], &opts, stdout)
	if err != nil {
		return err
	}
	defer cleanup()
	v, err := evidence.VerifyDir(ctx, dir, "", opts)
	if err != nil {
		return err
	}
	var first *evidence.Result
	for i, r := range v.Results {
		fmt.Fprintln(stdout, r)
		if !r.OK && first == nil {
			first = &v.Results[i]
		}
	}
	if first != nil {
		return fmt.Errorf("evidence of incident %s: %d problems; first: %s: %s", v.IncidentID, len(v.Problems), first.Name, first.Detail)
	}
	if opts.PublicKey == nil {
		fmt.Fprintf(stdout, "evidence of incident %s: %d artifacts intact; the signature is not checked: pass --key with the collector's public key\n", v.IncidentID, v.Verified)
		return nil
	}
	fmt.Fprintf(stdout, "evidence of incident %s: ok, %d artifacts intact, signed by %s\n", v.IncidentID, v.Verified, evidence.KeyID(opts.PublicKey))
	return nil
}

// evidenceDir is the folder to verify: path itself, or a bundle unpacked
// into a temporary folder that cleanup removes. A bundle's own key is used
// when no --key was given, saying so.
func evidenceDir(path string, opts *evidence.VerifyOptions, stdout io.Writer) (string, func(), error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", nil, err
	}
	if info.IsDir() {
		return path, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	tmp, err := os.MkdirTemp("", "quell-verify-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	dir, pub, err := evidence.Unpack(f, tmp)
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	if opts.PublicKey == nil && pub != nil {
		opts.PublicKey = pub
		fmt.Fprintf(stdout, "note: checking the signature against the key inside the bundle (%s); pass --key with the collector's key to trust more than the bundle\n", evidence.KeyID(pub))
	}
	return dir, cleanup, nil
}

// evidenceBundle writes an incident's evidence, key, report and README as
// one tar, recording the read in the custody log.
func evidenceBundle(args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("quell evidence bundle", flag.ContinueOnError)
	out := fset.String("o", "", "the tar file to write")
	cfg, rest, err := evidenceConfig(fset, args)
	if err != nil || len(rest) != 1 || *out == "" {
		return usageError(evidenceUsage)
	}
	id, dir := rest[0], cfg.DataDir
	// The collector's key, if it has one: a bundle is made without creating one.
	var pub ed25519.PublicKey
	keyPath := cfg.Evidence.SigningKeyFile
	if keyPath == "" {
		keyPath = filepath.Join(dir, evidence.KeyFile)
	}
	if _, err := os.Stat(keyPath); err == nil {
		key, err := evidence.LoadKey(keyPath)
		if err != nil {
			return err
		}
		pub = key.Public().(ed25519.PublicKey)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".bundle-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	store, actor := cliStore(dir)
	err = store.Bundle(id, tmp, pub, filepath.Join(dir, "reports"), actor, "bundled into "+filepath.Base(*out))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), *out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: incident %s's evidence, its key, report and README\n", *out, id)
	return nil
}

// cliStore is the data dir's evidence store, and the local user as the
// custody log names them.
func cliStore(dataDir string) (*evidence.Store, evidence.Actor) {
	host, _ := os.Hostname()
	return evidence.NewStore(filepath.Join(dataDir, "evidence")), evidence.Actor{Who: localUser(), Host: host, Version: app.VersionString()}
}

// evidenceHold sets (action "hold") or lifts ("release") a legal hold,
// recorded in the custody log and the audit log.
func evidenceHold(action string, args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("quell evidence "+action, flag.ContinueOnError)
	reason := fset.String("reason", "", "why: a case number, a request (required)")
	dir, rest, err := evidenceFlags(fset, args)
	if err != nil || len(rest) != 1 || *reason == "" {
		return usageError(evidenceUsage)
	}
	id := rest[0]
	store, actor := cliStore(dir)
	if action == "hold" {
		err = store.Hold(id, actor, *reason)
	} else {
		err = store.Release(id, actor, *reason)
	}
	if err != nil {
		return err
	}
	auditLocal(dir, audit.Event{Action: "evidence." + action, Incident: id, Reason: *reason})
	if action == "hold" {
		fmt.Fprintf(stdout, "incident %s: evidence held (%s); no retention removes it until quell evidence release\n", id, *reason)
	} else {
		fmt.Fprintf(stdout, "incident %s: hold lifted (%s); retention applies again\n", id, *reason)
	}
	return nil
}

// evidenceExpire removes the evidence sealed longer ago than --older-than
// that no hold keeps, recording each removal in the audit log.
func evidenceExpire(args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("quell evidence expire", flag.ContinueOnError)
	age := fset.Duration("older-than", 0, "remove evidence sealed longer ago than this (e.g. 2160h for 90 days)")
	dryRun := fset.Bool("dry-run", false, "list what would go, remove nothing")
	dir, rest, err := evidenceFlags(fset, args)
	if err != nil || len(rest) != 0 || *age <= 0 {
		return usageError(evidenceUsage)
	}
	store, _ := cliStore(dir)
	expired, err := store.Expire(*age, time.Now(), *dryRun)
	for _, x := range expired {
		state := "would be removed"
		switch {
		case x.Held:
			state = "kept: under a legal hold"
		case x.Removed:
			state = "removed"
			auditLocal(dir, audit.Event{Action: "evidence.expire", Incident: x.IncidentID,
				Reason: "sealed " + x.Since.UTC().Format(time.RFC3339) + ", older than " + age.String()})
		}
		fmt.Fprintf(stdout, "%s\tsealed %s\t%s\n", x.IncidentID, x.Since.UTC().Format(time.RFC3339), state)
	}
	return err
}
