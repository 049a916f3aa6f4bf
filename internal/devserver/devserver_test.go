package devserver

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

func dial(t *testing.T, s *Server) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(s.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWorkflowsSurviveRestart starts a workflow, stops the server, starts it
// again on the same SQLite file and finds the workflow still running, with
// the same API key.
func TestWorkflowsSurviveRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "temporal.db")
	s, err := Start(Options{DBPath: db, Namespace: "quell-test"})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	run, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: "survivor", TaskQueue: "nobody-listens"}, "Anything")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	key := s.APIKey()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	s, err = Start(Options{DBPath: db, Namespace: "quell-test"})
	if err != nil {
		t.Fatalf("restart on the same database: %v", err)
	}
	defer s.Stop()
	if s.APIKey() != key {
		t.Errorf("API key changed across restart: clients dialled before it would be refused")
	}
	c = dial(t, s)
	defer c.Close()
	desc, err := c.DescribeWorkflowExecution(t.Context(), "survivor", run.GetRunID())
	if err != nil {
		t.Fatalf("workflow lost across restart: %v", err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetStatus(); got != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("status after restart = %v, want running", got)
	}
}
