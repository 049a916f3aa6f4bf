package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/quell-ir/quell/internal/audit"
	"github.com/quell-ir/quell/internal/auth"
)

// Auditor records every change and every refusal; *audit.Log is one.
type Auditor interface {
	// Append records e, returning once it is durable.
	Append(e audit.Event) error
}

type principalKey struct{}

// principalOf is the principal the guard let through.
func principalOf(r *http.Request) auth.Principal {
	p, _ := r.Context().Value(principalKey{}).(auth.Principal)
	return p
}

func withPrincipal(r *http.Request, p auth.Principal) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

// guard lets a request through to next only when its credential names a
// principal whose role holds need; otherwise it answers 401 or 403, counts
// and audits the refusal, and next never runs.
func (s *Server) guard(action string, need auth.Action, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.refuse(w, r, action, auth.Principal{}, err)
			return
		}
		if !p.Role.Can(need) {
			s.refuse(w, r, action, p, errForbidden(p, need))
			return
		}
		next(w, withPrincipal(r, p))
	}
}

// authenticate is the request's principal: Anonymous when no credential is
// configured at all.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	if s.opts.Auth == nil {
		return auth.Anonymous, nil
	}
	return s.opts.Auth.Authenticate(r)
}

// forbiddenError is a principal whose role lacks the action.
type forbiddenError struct {
	p    auth.Principal
	need auth.Action
}

func (e forbiddenError) Error() string {
	role := string(e.p.Role)
	if role == "" {
		role = "none"
	}
	return fmt.Sprintf("forbidden: %s (role %s) may not %s", e.p.Name, role, strings.ReplaceAll(string(e.need), "_", " "))
}

func errForbidden(p auth.Principal, need auth.Action) error { return forbiddenError{p, need} }

// refuse answers a refused request, counts it and audits it. err is a
// credential error (401), a forbiddenError (403), or an error reaching the
// credential store or issuer (503). Its text never holds a credential.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, action string, p auth.Principal, err error) {
	code, reason, msg := http.StatusServiceUnavailable, "unavailable", "authentication unavailable; try again"
	var fe forbiddenError
	switch {
	case errors.Is(err, auth.ErrNoCredential):
		code, reason, msg = http.StatusUnauthorized, "no_credential", "missing or wrong bearer token ("+err.Error()+")"
	case errors.Is(err, auth.ErrBadCredential):
		code, reason, msg = http.StatusUnauthorized, "bad_credential", "missing or wrong bearer token ("+err.Error()+")"
	case errors.As(err, &fe):
		code, reason, msg = http.StatusForbidden, "forbidden", err.Error()
	default:
		s.log.Error("authenticate", "action", action, "err", err)
	}
	s.metrics.refused(action, reason)
	s.audit(r, p, audit.Event{Action: action, Outcome: audit.Refused, Reason: msg})
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="quell"`)
	}
	writeError(w, code, msg)
}

// audit records e with the request's principal and source address; a
// failure to record is logged and counted, never answered: the change it
// describes is already made.
func (s *Server) audit(r *http.Request, p auth.Principal, e audit.Event) {
	if s.opts.Audit == nil {
		return
	}
	e.Principal, e.Role, e.Via, e.Address = p.Name, string(p.Role), p.Source, r.RemoteAddr
	if e.Incident == "" {
		e.Incident = r.PathValue("id")
	}
	if err := s.opts.Audit.Append(e); err != nil {
		s.metrics.auditErrors.Inc()
		s.log.Error("audit", "action", e.Action, "incident", e.Incident, "err", err)
	}
}

// metricsGuard puts /metrics behind the metrics token, or any principal
// who may read metrics, when a metrics token is configured.
func (s *Server) metricsGuard(next http.Handler) http.Handler {
	if s.opts.MetricsToken == nil {
		return next
	}
	want := *s.opts.MetricsToken
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := auth.Bearer(r.Header); ok && want.Equal(auth.HashToken(tok)) {
			next.ServeHTTP(w, r)
			return
		}
		p, err := s.authenticate(r)
		switch {
		case err == nil && p.Source == auth.SourceOpen:
			err = fmt.Errorf("metrics: %w", auth.ErrBadCredential)
			s.refuse(w, r, "metrics", auth.Principal{}, err)
		case err != nil:
			s.refuse(w, r, "metrics", auth.Principal{}, err)
		case !p.Role.Can(auth.ReadMetrics):
			s.refuse(w, r, "metrics", p, errForbidden(p, auth.ReadMetrics))
		default:
			next.ServeHTTP(w, r)
		}
	})
}
