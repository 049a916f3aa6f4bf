package tsatest

import "github.com/quell-ir/quell/internal/toolcache"

// Version is the release of sigstore's timestamp authority the tests run.
const Version = "v2.1.3"

// Tool is sigstore's RFC 3161 timestamp authority, built from its module
// into the user's cache by version.
var Tool = toolcache.Tool{
	Module: "github.com/sigstore/timestamp-authority/v2", Package: "cmd/timestamp-server", Version: Version, Name: "timestamp-server",
}
