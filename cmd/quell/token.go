package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/internal/audit"
	"github.com/quell-ir/quell/internal/auth"
	"github.com/quell-ir/quell/internal/config"
)

// stdin is where `quell token hash` reads; tests replace it.
var stdin io.Reader = os.Stdin

const tokenUsage = `usage:
  quell token create NAME --role ROLE [--data-dir DIR]   make a token; it is printed once, on the last line
  quell token list [--data-dir DIR]                      names, roles and creation times
  quell token revoke NAME [--data-dir DIR]               revoke a token at once
  quell token hash < TOKEN                               the SHA-256 to list a token in the config`

// runToken runs `quell token create|list|revoke|hash`.
func runToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError(tokenUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("quell token "+sub, flag.ContinueOnError)
	dataDir := fs.String("data-dir", "./.quell", "the data directory quell dev and quell serve read")
	configFile := fs.String("config", "", "configuration file (YAML), for its data_dir")
	role := fs.String("role", "", "create: detector, viewer, responder or admin")
	names, err := parseInterspersed(fs, args)
	if err != nil {
		return usageError(err.Error())
	}
	dir, err := dataDirOf(fs, *configFile, *dataDir)
	if err != nil {
		return err
	}
	store := auth.NewStore(dir)
	switch {
	case sub == "create" && len(names) == 1:
		return createToken(store, dir, names[0], *role, stdout)
	case sub == "list" && len(names) == 0:
		return listTokens(store, stdout)
	case sub == "revoke" && len(names) == 1:
		if err := store.Revoke(names[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %s revoked\n", names[0])
		auditCLI(dir, "token.revoke", names[0])
		return nil
	case sub == "hash" && len(names) == 0:
		return hashToken(stdout)
	}
	return usageError(tokenUsage)
}

func createToken(store *auth.Store, dir, name, roleName string, stdout io.Writer) error {
	if roleName == "" {
		return usageError("quell token create NAME --role ROLE: --role is required (detector, viewer, responder or admin)")
	}
	role, err := auth.ParseRole(roleName)
	if err != nil {
		return usageError(err.Error())
	}
	token, err := store.Create(name, role)
	if err != nil {
		return err
	}
	auditCLI(dir, "token.create", fmt.Sprintf("%s (%s)", name, role))
	fmt.Fprintf(stdout, "token %s (%s) stored as a hash in %s.\nIt is shown this once; quell cannot show it again:\n%s\n", name, role, store.Path(), token)
	return nil
}

func listTokens(store *auth.Store, stdout io.Writer) error {
	list, err := store.List()
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no tokens")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Role, t.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// hashToken prints the SHA-256 of the token on stdin, for auth.principals
// and auth.intake; it refuses a token that is blank or short.
func hashToken(stdout io.Writer) error {
	b, err := io.ReadAll(io.LimitReader(stdin, 4096))
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	token := strings.TrimRight(string(b), "\r\n")
	if err := auth.CheckSecret(token); err != nil {
		return fmt.Errorf("token on stdin: %w", err)
	}
	fmt.Fprintln(stdout, auth.HashToken(token))
	return nil
}

// auditCLI records a change made from the command line, by the local
// user; the change is made by then, so a failure is a warning.
func auditCLI(dir, action, what string) {
	auditLocal(dir, audit.Event{Action: action, Reason: what})
}

// localUser names the user running the command, as the audit log and the
// custody log record them.
func localUser() string {
	if u, err := user.Current(); err == nil {
		return "local:" + u.Username
	}
	return "local"
}

// auditLocal records e, done from the command line by the local user.
func auditLocal(dir string, e audit.Event) {
	e.Principal, e.Role, e.Via, e.Outcome = localUser(), string(auth.Admin), "cli", audit.Accepted
	l, err := audit.Open(audit.Path(dir))
	if err == nil {
		err = l.Append(e)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quell: warning: not audited:", err)
	}
}

// parseInterspersed parses flags before, between and after the positional
// arguments (`create NAME --role ROLE`), which flag alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// dataDirOf is --data-dir when given, else the config file's data_dir, else
// the flag's default.
func dataDirOf(fs *flag.FlagSet, configFile, flagDir string) (string, error) {
	dir := flagDir
	if configFile != "" {
		cfg, err := config.Load(configFile)
		if err != nil {
			return "", err
		}
		dir = cfg.DataDir
		setIf(fs, "data-dir", &dir, flagDir)
	}
	return dir, nil
}

// serveAuth is what quell serve checks before it starts: some credential
// is configured, so no /v1/ route is open, unless insecure, which warns
// (loudly off loopback). Blank and short tokens the config already refused.
func serveAuth(cfg config.Config, insecure bool) (warning string, err error) {
	closed := cfg.API.Token != "" || len(cfg.Auth.Principals) > 0 || cfg.Auth.OIDC != nil || auth.NewStore(cfg.DataDir).InUse()
	switch {
	case closed:
		return "", nil
	case !insecure:
		return "", usageError("quell serve needs an API token or another credential: none is configured, so every /v1/ route would be open; make a token " +
			"(quell token create NAME --role admin), list principals (auth.principals, auth.oidc) or set QUELL_API_TOKEN; " +
			"or pass --insecure to serve without one")
	case !app.IsLoopback(cfg.Listen):
		return fmt.Sprintf("INSECURE: serving the API on %s, beyond this machine, with NO credential: anyone who reaches it may "+
			"post alerts, read incidents and approve destructive steps", cfg.Listen), nil
	}
	return fmt.Sprintf("insecure: serving the API on %s with no credential: every local process may use it", cfg.Listen), nil
}
