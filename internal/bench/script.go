package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// script is the peer: a responder as users wire one today, Falcosidekick's
// webhook output pointed at a small HTTP receiver that shells out to the
// docker CLI. On each POST it reads the Falco JSON, lists the container's
// networks with `docker inspect`, runs `docker network disconnect -f` for
// each and `docker pause`, and answers once done.
type script struct {
	srv    *http.Server
	url    string
	docker string
}

// startScript starts the receiver on a loopback port.
func startScript() (*script, error) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		return nil, fmt.Errorf("script responder needs the docker CLI: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("script responder: %w", err)
	}
	s := &script{url: "http://" + l.Addr().String(), docker: docker}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Close stops the receiver.
func (s *script) Close() { _ = s.srv.Close() }

// containerID is what a Falco container ID looks like.
var containerID = regexp.MustCompile(`^[0-9a-f]{12,64}$`)

func (s *script) handle(w http.ResponseWriter, r *http.Request) {
	var a struct {
		OutputFields map[string]any `json:"output_fields"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&a); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, _ := a.OutputFields["container.id"].(string)
	if !containerID.MatchString(id) {
		http.Error(w, "no container.id", http.StatusBadRequest)
		return
	}
	if err := s.isolate(r.Context(), id); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *script) isolate(ctx context.Context, id string) error {
	nets, err := s.run(ctx, "inspect", "--format", `{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}`, id)
	if err != nil {
		return err
	}
	for _, nw := range strings.Fields(nets) {
		if _, err := s.run(ctx, "network", "disconnect", "-f", nw, id); err != nil {
			return err
		}
	}
	_, err = s.run(ctx, "pause", id)
	return err
}

// run runs the docker CLI and returns its output.
func (s *script) run(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, s.docker, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// post sends an alert to the receiver as Falcosidekick's webhook would.
func (s *script) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("script responder: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return errors.New("script responder: " + resp.Status + ": " + string(bytes.TrimSpace(msg)))
	}
	return nil
}
