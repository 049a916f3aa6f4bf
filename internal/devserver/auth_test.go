package devserver

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const lockQueue = "lockdown"

// gate waits for a "go" signal, takes "set" updates and answers "state"
// queries, then runs an activity on its state.
func gate(ctx workflow.Context) (string, error) {
	state := "waiting"
	if err := workflow.SetQueryHandler(ctx, "state", func() (string, error) { return state, nil }); err != nil {
		return "", err
	}
	if err := workflow.SetUpdateHandler(ctx, "set", func(_ workflow.Context, v string) (string, error) {
		state = v
		return v, nil
	}); err != nil {
		return "", err
	}
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, "Shout", state).Get(ctx, &out)
	return out, err
}

func shout(_ context.Context, s string) (string, error) { return strings.ToUpper(s) + "!", nil }

// startLocked starts an in-memory server and a worker for gate with a
// client presenting the API key.
func startLocked(t *testing.T) (*Server, client.Client) {
	t.Helper()
	s, err := Start(Options{Namespace: "quell-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	c := dial(t, s)
	t.Cleanup(c.Close)
	w := worker.New(c, lockQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(gate, workflow.RegisterOptions{Name: "Gate"})
	w.RegisterActivityWithOptions(shout, activity.RegisterOptions{Name: "Shout"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return s, c
}

// TestKeyedClientRunsWorkflow runs a workflow end to end with the API key
// (start, query, update, signal, activity, result), has the system worker
// terminate another through a batch job (the internal frontend), and
// expects the authorizer to have refused no one.
func TestKeyedClientRunsWorkflow(t *testing.T) {
	s, c := startLocked(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "gate-1", TaskQueue: lockQueue}, "Gate")
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: "gate-1", UpdateName: "set", Args: []any{"open"}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	var got string
	if err := h.Get(ctx, &got); err != nil || got != "open" {
		t.Fatalf("update = %q, %v; want open", got, err)
	}
	v, err := c.QueryWorkflow(ctx, "gate-1", "", "state")
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if err := v.Get(&got); err != nil || got != "open" {
		t.Fatalf("query = %q, %v; want open", got, err)
	}
	if err := c.SignalWorkflow(ctx, "gate-1", "", "go", nil); err != nil {
		t.Fatalf("signal: %v", err)
	}
	if err := run.Get(ctx, &got); err != nil || got != "OPEN!" {
		t.Fatalf("result = %q, %v; want OPEN!", got, err)
	}

	// The batcher is a system workflow: it runs in the server's worker
	// service and reaches the frontend through the internal one.
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "gate-2", TaskQueue: lockQueue}, "Gate"); err != nil {
		t.Fatal(err)
	}
	_, err = c.WorkflowService().StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{
		Namespace: s.Namespace(), JobId: "terminate-gate-2", Reason: "test",
		Executions: []*commonpb.WorkflowExecution{{WorkflowId: "gate-2"}},
		Operation: &workflowservice.StartBatchOperationRequest_TerminationOperation{
			TerminationOperation: &batchpb.BatchOperationTermination{},
		},
	})
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	waitStatus(t, c, "gate-2", enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED)
	if n := s.authz.denied.Load(); n != 0 {
		t.Errorf("authorizer refused %d requests of quell's client and the server's own services, want 0", n)
	}
}

// TestStrangersRefused calls the frontend as another local process would:
// with no key, a wrong one, and the read-only key for what changes state.
// Every call is PermissionDenied and the workflow runs on untouched.
func TestStrangersRefused(t *testing.T) {
	s, c := startLocked(t)
	ctx := t.Context()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "target", TaskQueue: lockQueue}, "Gate")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(s.HostPort(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ws := workflowservice.NewWorkflowServiceClient(conn)
	ops := operatorservice.NewOperatorServiceClient(conn)
	ns := s.Namespace()
	exec := &commonpb.WorkflowExecution{WorkflowId: "target"}
	writes := map[string]func(context.Context) error{
		"start": func(ctx context.Context) error {
			_, err := ws.StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
				Namespace: ns, WorkflowId: "intruder", RequestId: "r1",
				WorkflowType: &commonpb.WorkflowType{Name: "Gate"}, TaskQueue: &taskqueuepb.TaskQueue{Name: lockQueue},
			})
			return err
		},
		"signal": func(ctx context.Context) error {
			_, err := ws.SignalWorkflowExecution(ctx, &workflowservice.SignalWorkflowExecutionRequest{
				Namespace: ns, WorkflowExecution: exec, SignalName: "go",
			})
			return err
		},
		"update": func(ctx context.Context) error {
			_, err := ws.UpdateWorkflowExecution(ctx, &workflowservice.UpdateWorkflowExecutionRequest{
				Namespace: ns, WorkflowExecution: exec,
				Request: &updatepb.Request{Meta: &updatepb.Meta{UpdateId: "u1"}, Input: &updatepb.Input{Name: "set"}},
			})
			return err
		},
		"terminate": func(ctx context.Context) error {
			_, err := ws.TerminateWorkflowExecution(ctx, &workflowservice.TerminateWorkflowExecutionRequest{
				Namespace: ns, WorkflowExecution: exec, Reason: "intruder",
			})
			return err
		},
		"cancel": func(ctx context.Context) error {
			_, err := ws.RequestCancelWorkflowExecution(ctx, &workflowservice.RequestCancelWorkflowExecutionRequest{
				Namespace: ns, WorkflowExecution: exec,
			})
			return err
		},
		"add search attribute": func(ctx context.Context) error {
			_, err := ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
				Namespace: ns, SearchAttributes: map[string]enumspb.IndexedValueType{"Intruder": enumspb.INDEXED_VALUE_TYPE_KEYWORD},
			})
			return err
		},
	}
	reads := map[string]func(context.Context) error{
		"query": func(ctx context.Context) error {
			_, err := ws.QueryWorkflow(ctx, &workflowservice.QueryWorkflowRequest{
				Namespace: ns, Execution: exec, Query: &querypb.WorkflowQuery{QueryType: "state"},
			})
			return err
		},
		"describe": func(ctx context.Context) error {
			_, err := ws.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{Namespace: ns, Execution: exec})
			return err
		},
		"list": func(ctx context.Context) error {
			_, err := ws.ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns})
			return err
		},
		"history": func(ctx context.Context) error {
			_, err := ws.GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{Namespace: ns, Execution: exec})
			return err
		},
		"namespaces": func(ctx context.Context) error {
			_, err := ws.ListNamespaces(ctx, &workflowservice.ListNamespacesRequest{})
			return err
		},
	}
	for _, tc := range []struct {
		who   string
		token string // the authorization header; "" sends none
		calls map[string]func(context.Context) error
	}{
		{"no key", "", writes},
		{"no key", "", reads},
		{"wrong key", "Bearer " + strings.Repeat("0", 64), writes},
		{"wrong key", "Bearer " + strings.Repeat("0", 64), reads},
		{"key without scheme", s.APIKey(), writes},
		{"key as basic", "Basic " + s.APIKey(), writes},
		{"read-only key", "Bearer " + s.ReadOnlyKey(), writes},
	} {
		for name, call := range tc.calls {
			ctx := t.Context()
			if tc.token != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", tc.token)
			}
			if got := status.Code(call(ctx)); got != codes.PermissionDenied {
				t.Errorf("%s: %s = %v, want PermissionDenied", tc.who, name, got)
			}
		}
	}
	// The read-only key reads, with the scheme in any case.
	for name, call := range reads {
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "bEARER "+s.ReadOnlyKey())
		if err := call(ctx); err != nil {
			t.Errorf("read-only key: %s: %v", name, err)
		}
	}

	// An SDK client without the key connects (GetSystemInfo and the
	// health check are open, as in Temporal's default authorizer) and is
	// refused the rest.
	stranger, err := client.Dial(client.Options{HostPort: s.HostPort(), Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	var denied *serviceerror.PermissionDenied
	if err := stranger.TerminateWorkflow(ctx, "target", "", "intruder"); !errors.As(err, &denied) {
		t.Errorf("sdk client without key: terminate = %v, want PermissionDenied", err)
	}
	if _, err := stranger.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns}); !errors.As(err, &denied) {
		t.Errorf("sdk client without key: list = %v, want PermissionDenied", err)
	}

	desc, err := c.DescribeWorkflowExecution(ctx, "target", run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetStatus(); got != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("target status = %v, want running", got)
	}
	if _, err := c.DescribeWorkflowExecution(ctx, "intruder", ""); err == nil {
		t.Errorf("workflow intruder exists, want it never started")
	}
}

// TestInternodeNeedsCertificate calls history, matching, the worker
// service and the internal frontend directly: plain gRPC and TLS without
// the server's certificate are both turned away before any request.
func TestInternodeNeedsCertificate(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if err := s.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	creds := map[string]credentials.TransportCredentials{
		"plain":                   insecure.NewCredentials(),
		"tls without client cert": credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}),
	}
	for _, addr := range s.internode {
		for name, cr := range creds {
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(cr))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			cancel()
			conn.Close()
			if got := status.Code(err); got != codes.Unavailable && got != codes.DeadlineExceeded {
				t.Errorf("%s %s: health check = %v (%v), want the connection refused", name, addr, got, err)
			}
		}
	}
}

// TestFrontendHTTPOff checks that no service opens Temporal's HTTP API,
// which the authorizer would guard but which quell does not need.
func TestFrontendHTTPOff(t *testing.T) {
	cfg := serverConfig(Options{IP: "127.0.0.1", Port: 7233}, make([]int, 11))
	for name, svc := range cfg.Services {
		if svc.RPC.HTTPPort != 0 {
			t.Errorf("service %s: HTTPPort = %d, want 0 (off)", name, svc.RPC.HTTPPort)
		}
	}
	if _, ok := cfg.Services["internal-frontend"]; !ok {
		t.Errorf("no internal-frontend service: the system workflows would need the public frontend")
	}
}

func waitStatus(t *testing.T, c client.Client, id string, want enumspb.WorkflowExecutionStatus) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		desc, err := c.DescribeWorkflowExecution(t.Context(), id, "")
		if err == nil && desc.GetWorkflowExecutionInfo().GetStatus() == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %v (%v) after 30s, want %v", id, desc.GetWorkflowExecutionInfo().GetStatus(), err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
