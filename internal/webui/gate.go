package webui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
)

// tokenParam is the query parameter of the login URL.
const tokenParam = "token"

// queryRoute is the one POST route that only reads: a workflow query.
// It is matched on the escaped path, one segment per name, so that a
// workflow ID or signal name holding "/query/" does not pass for one.
var queryRoute = regexp.MustCompile(`^/api/v1/namespaces/[^/]+/workflows/[^/]+/query/[^/]+$`)

// gate stands in front of the UI server. It lets a request through only
// with the session cookie it sets when the login URL is opened; refuses
// every write unless the UI is writable, and any write from another site;
// and presents the Temporal credential, which only it holds, on what it
// forwards. Nothing reaches the UI server, and no CSRF cookie comes back,
// without the login.
type gate struct {
	token    []byte // in the login URL
	session  []byte // in the cookie
	cookie   string // the cookie's name
	apiKey   string
	writable bool
	upstream *url.URL
	proxy    *httputil.ReverseProxy
}

func newGate(upstream *url.URL, cookie, apiKey string, writable bool) *gate {
	g := &gate{
		token: []byte(secret()), session: []byte(secret()), cookie: cookie,
		apiKey: apiKey, writable: writable, upstream: upstream,
	}
	g.proxy = &httputil.ReverseProxy{Rewrite: g.rewrite}
	return g
}

// secret returns 32 random bytes, URL-safe.
func secret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ServeHTTP implements http.Handler.
func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Has(tokenParam) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		g.login(w, r)
		return
	}
	if !g.signedIn(r) {
		http.Error(w, "quell: this Temporal Web UI opens with the login URL quell dev printed at start (ui: http://…/?token=…)", http.StatusUnauthorized)
		return
	}
	if safe(r) {
		g.proxy.ServeHTTP(w, r)
		return
	}
	if !sameOrigin(r) {
		http.Error(w, "quell: cross-site request refused", http.StatusForbidden)
		return
	}
	if !g.writable && !queryRoute.MatchString(r.URL.EscapedPath()) {
		http.Error(w, "quell: the Temporal Web UI is read-only; act on incidents through quell's API", http.StatusForbidden)
		return
	}
	g.proxy.ServeHTTP(w, r)
}

// login sets the session cookie when the token is right and sends the
// browser on to the same page without the token, so that it stays out of
// the address bar, the history and Referer headers.
func (g *gate) login(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get(tokenParam)), g.token) != 1 {
		http.Error(w, "quell: wrong login token", http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: g.cookie, Value: string(g.session), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	q := r.URL.Query()
	q.Del(tokenParam)
	next := url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
	if next.Path == "" {
		next.Path = "/"
	}
	http.Redirect(w, r, next.RequestURI(), http.StatusSeeOther)
}

func (g *gate) signedIn(r *http.Request) bool {
	c, err := r.Cookie(g.cookie)
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), g.session) == 1
}

// rewrite forwards to the UI server with the Temporal credential in place
// of whatever Authorization the request carried, and without the session
// cookie.
func (g *gate) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(g.upstream)
	pr.Out.Host = pr.In.Host
	pr.Out.Header.Del("Authorization")
	if g.apiKey != "" {
		pr.Out.Header.Set("Authorization", "Bearer "+g.apiKey)
	}
	pr.Out.Header.Del("Cookie")
	for _, c := range pr.In.Cookies() {
		if c.Name != g.cookie {
			pr.Out.AddCookie(c)
		}
	}
}

// safe reports whether r only reads.
func safe(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// sameOrigin reports whether a browser sent r from the UI's own pages. The
// UI server's own CSRF check is skipped for requests that carry an
// Authorization header, as every forwarded one does, so the gate checks:
// the session cookie is SameSite=Strict, but other ports of the same host
// count as the same site.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" && !strings.EqualFold(origin, "http://"+r.Host) {
		return false
	}
	return true
}
