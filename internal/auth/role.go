// Package auth says who is asking and what they may do: principals and
// their roles, API tokens kept only as SHA-256 hashes, OIDC bearer tokens,
// and the credential each alert source presents or signs its bodies with.
package auth

import (
	"fmt"
	"strings"
)

// Role is what a principal may do. Each role holds every permission of the
// roles before it in Roles, but a detector's: a detector only reports.
type Role string

// The roles, least privileged first.
const (
	// Detector posts alerts and does nothing else.
	Detector Role = "detector"
	// Viewer reads incidents, reports and evidence listings.
	Viewer Role = "viewer"
	// Responder is a viewer who may also decide approval steps, still
	// subject to each playbook's approvers.
	Responder Role = "responder"
	// Admin may do everything, undo and token management included.
	Admin Role = "admin"
)

// Roles lists every role, least privileged first.
func Roles() []Role { return []Role{Detector, Viewer, Responder, Admin} }

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, 0, 4)
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return "", fmt.Errorf("role %q: want one of %s", s, strings.Join(names, ", "))
}

// Action is something a request asks to do; routes name the action they
// need and roles say which actions they hold.
type Action string

// The actions.
const (
	// PostAlert reports an alert.
	PostAlert Action = "post_alert"
	// Read reads incidents, reports and evidence listings.
	Read Action = "read"
	// Decide decides an approval step.
	Decide Action = "decide"
	// Undo undoes a step of an incident (a compensation).
	Undo Action = "undo"
	// ManageTokens creates, lists and revokes API tokens.
	ManageTokens Action = "manage_tokens"
	// ReadMetrics reads the Prometheus metrics.
	ReadMetrics Action = "read_metrics"
)

// grants is the one table of who may do what.
var grants = map[Role][]Action{
	Detector:  {PostAlert},
	Viewer:    {Read, ReadMetrics},
	Responder: {Read, ReadMetrics, Decide},
	Admin:     {PostAlert, Read, ReadMetrics, Decide, Undo, ManageTokens},
}

// Can reports whether the role holds the action. The empty role (a
// principal whose identity is known but who was given no role) holds none.
func (r Role) Can(a Action) bool {
	for _, g := range grants[r] {
		if g == a {
			return true
		}
	}
	return false
}

// rank orders the roles for picking the highest of several (OIDC groups);
// an unknown role ranks below every known one.
func (r Role) rank() int {
	for i, k := range Roles() {
		if k == r {
			return i + 1
		}
	}
	return 0
}
