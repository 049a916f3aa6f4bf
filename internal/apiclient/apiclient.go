// Package apiclient is a client of quell's HTTP API, for the quell command's
// incident and report subcommands: list, show, watch, decide and fetch
// reports, with a bearer token, every failure named for a person at a
// terminal (an unknown incident, a refused credential, a server that is
// not there).
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/quell-ir/quell/internal/incident"
)

// Errors that Client wraps.
var (
	// ErrNotFound: no such incident.
	ErrNotFound = errors.New("not found")
	// ErrDenied: the server refused the credential, or its role.
	ErrDenied = errors.New("denied")
	// ErrUnreachable: no quell server answered.
	ErrUnreachable = errors.New("unreachable")
)

// maxAnswer bounds one answer read.
const maxAnswer = 32 << 20

// Client talks to one quell server.
type Client struct {
	server string // scheme://host[:port], no trailing slash
	token  string
	http   *http.Client
}

// New returns a client of the server at base (http://127.0.0.1:8080, say)
// presenting token ("" for none).
func New(base, token string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("server %q: want http(s)://host[:port]", base)
	}
	return &Client{server: strings.TrimSuffix(base, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// List returns the incidents, newest first.
func (c *Client) List(ctx context.Context) ([]incident.Summary, error) {
	var out struct {
		Incidents []incident.Summary `json:"incidents"`
	}
	err := c.call(ctx, http.MethodGet, "/v1/incidents", "", nil, &out)
	return out.Incidents, err
}

// Get returns one incident.
func (c *Client) Get(ctx context.Context, id string) (incident.Incident, error) {
	var inc incident.Incident
	err := c.call(ctx, http.MethodGet, "/v1/incidents/"+url.PathEscape(id), "", nil, &inc)
	return inc, err
}

// Decide approves or rejects step of incident id, as the credential's
// principal.
func (c *Client) Decide(ctx context.Context, id string, d incident.DecisionRequest) (incident.Decision, error) {
	body, err := json.Marshal(d)
	if err != nil {
		return incident.Decision{}, err
	}
	var got incident.Decision
	err = c.call(ctx, http.MethodPost, "/v1/incidents/"+url.PathEscape(id)+"/decisions", "", body, &got)
	return got, err
}

// Report returns incident id's report in format (md, html or json).
func (c *Client) Report(ctx context.Context, id, format string) ([]byte, error) {
	var raw []byte
	err := c.call(ctx, http.MethodGet, "/v1/incidents/"+url.PathEscape(id)+"/report", "format="+url.QueryEscape(format), nil, &raw)
	return raw, err
}

// Rests reports whether an incident has nothing running: it has ended, or
// it waits for a person.
func Rests(inc incident.Incident) bool {
	return inc.Status != incident.StatusRunning
}

// Watch polls incident id every interval, calling seen with each state
// that differs from the one before, until the incident rests or ctx ends;
// it returns the last state.
func (c *Client) Watch(ctx context.Context, id string, every time.Duration, seen func(incident.Incident)) (incident.Incident, error) {
	var last []byte
	for {
		inc, err := c.Get(ctx, id)
		if err != nil {
			return inc, err
		}
		if now, _ := json.Marshal(inc); !bytes.Equal(now, last) {
			last = now
			seen(inc)
		}
		if Rests(inc) {
			return inc, nil
		}
		select {
		case <-ctx.Done():
			return inc, ctx.Err()
		case <-time.After(every):
		}
	}
}

// call sends a request and decodes a 2xx answer into out (a *[]byte takes
// it raw); any other answer is an error carrying the server's reason.
func (c *Client) call(ctx context.Context, method, path, query string, body []byte, out any) error {
	target := c.server + path
	if query != "" {
		target += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("quell server %s: %w: %w", c.server, ErrUnreachable, unwrap(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("quell server %s: %w", c.server, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		reason := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			reason = e.Error
		}
		switch resp.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%s: %w", reason, ErrNotFound)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("quell server %s refused the credential (%s; set QUELL_TOKEN): %w", c.server, reason, ErrDenied)
		}
		return fmt.Errorf("quell server %s: %s: %s", c.server, resp.Status, reason)
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("quell server %s: answer: %w", c.server, err)
	}
	return nil
}

// unwrap drops net/url's restatement of the method and URL.
func unwrap(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
