// Package devservertest starts an embedded Temporal server for a test and
// dials a client of it, with quell's own credential.
package devservertest

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/quell-ir/quell/internal/devserver"
)

// Start starts an embedded Temporal server with opts, waits until it
// answers and returns it with a client of it; both are stopped when the
// test ends.
func Start(t testing.TB, opts devserver.Options) (*devserver.Server, client.Client) {
	t.Helper()
	srv, err := devserver.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(srv.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return srv, c
}
