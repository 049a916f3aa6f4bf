package devserver

import (
	"context"
	"crypto/subtle"
	"strings"
	"sync/atomic"

	"go.temporal.io/server/common/authorization"
)

// Subjects of the claims the frontend maps the keys to.
const (
	subjectQuell  = "quell"
	subjectReader = "quell-reader"
)

// keyClaims maps the bearer token of a request to claims: quell's key to
// a system admin, the read-only key to a system reader, anything else to
// no role at all. The comparisons take constant time, and the token never
// appears in an error (the frontend logs claim mapper errors).
type keyClaims struct {
	admin, reader []byte // "Bearer <key>"
}

var (
	_ authorization.ClaimMapper                     = (*keyClaims)(nil)
	_ authorization.ClaimMapperWithAuthInfoRequired = (*keyClaims)(nil)
)

func newKeyClaims(adminKey, readerKey string) *keyClaims {
	return &keyClaims{admin: []byte("Bearer " + adminKey), reader: []byte("Bearer " + readerKey)}
}

// GetClaims implements authorization.ClaimMapper.
func (m *keyClaims) GetClaims(info *authorization.AuthInfo) (*authorization.Claims, error) {
	token := []byte(info.AuthToken)
	// RFC 9110: the scheme is case-insensitive.
	if len(token) > len("Bearer ") && strings.EqualFold(string(token[:len("Bearer")]), "Bearer") {
		copy(token, "Bearer")
	}
	switch {
	case subtle.ConstantTimeCompare(token, m.admin) == 1:
		return &authorization.Claims{Subject: subjectQuell, System: authorization.RoleAdmin, AuthType: "quell-key"}, nil
	case subtle.ConstantTimeCompare(token, m.reader) == 1:
		return &authorization.Claims{Subject: subjectReader, System: authorization.RoleReader, AuthType: "quell-key"}, nil
	}
	return &authorization.Claims{}, nil
}

// AuthInfoRequired implements authorization.ClaimMapperWithAuthInfoRequired:
// a request without a token is mapped too, to no role.
func (m *keyClaims) AuthInfoRequired() bool { return false }

// roleAuthorizer is Temporal's default authorizer (health checks for
// everyone, then the claims' role against the API's access level),
// counting what it refuses so tests can tell that no internal caller was.
// The internal frontend maps every caller to a system admin: it is reached
// only over mutual TLS (see internode.go).
type roleAuthorizer struct {
	next   authorization.Authorizer
	denied atomic.Int64
}

// Authorize implements authorization.Authorizer.
func (a *roleAuthorizer) Authorize(ctx context.Context, claims *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	res, err := a.next.Authorize(ctx, claims, target)
	if err == nil && res.Decision != authorization.DecisionAllow {
		a.denied.Add(1)
	}
	return res, err
}
