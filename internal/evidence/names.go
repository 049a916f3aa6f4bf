package evidence

import (
	"fmt"
	"path"
	"strings"
)

// maxElement bounds one element of an artifact name so that its
// ".<base>.partial" temporary name still fits a 255-byte file name.
const maxElement = 200

// nameError is a rejected incident ID or artifact name; it matches ErrInvalidName.
type nameError struct {
	kind   string // "incident id" or "artifact name"
	name   string
	reason string
}

func (e *nameError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.kind, e.name, e.reason)
}

// Is makes errors.Is(err, ErrInvalidName) true.
func (e *nameError) Is(target error) bool { return target == ErrInvalidName }

// validateIncidentID accepts a non-empty [A-Za-z0-9._-]+ that cannot name
// the evidence root itself or its parent.
func validateIncidentID(id string) error {
	bad := func(reason string) error { return &nameError{"incident id", id, reason} }
	switch {
	case id == "":
		return bad("empty")
	case strings.Contains(id, ".."):
		return bad(`contains ".."`)
	case id == ".":
		return bad("reserved")
	case len(id) > maxElement:
		return bad("too long")
	}
	for _, r := range id {
		if !isIDChar(r) {
			return bad(fmt.Sprintf("invalid character %q", r))
		}
	}
	return nil
}

func isIDChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '.' || r == '_' || r == '-'
}

// validateName accepts a clean, relative, slash-separated artifact name. It
// refuses the folder's own files and any element starting with ".", which
// keeps artifacts apart from the journal and from temporary ".partial" files.
func validateName(name string) error {
	bad := func(reason string) error { return &nameError{"artifact name", name, reason} }
	if name == "" {
		return bad("empty")
	}
	if strings.HasPrefix(name, "/") {
		return bad("absolute")
	}
	for _, r := range name {
		if r == '\\' || r < 0x20 || r == 0x7f {
			return bad(fmt.Sprintf("invalid character %q", r))
		}
	}
	elems := strings.Split(name, "/")
	for _, e := range elems {
		if e == ".." {
			return bad(`contains ".."`)
		}
	}
	if path.Clean(name) != name {
		return bad("not clean")
	}
	if reserved(name) {
		return bad("reserved")
	}
	for _, e := range elems {
		if strings.HasPrefix(e, ".") {
			return bad(fmt.Sprintf("element %q starts with \".\"", e))
		}
		if len(e) > maxElement {
			return bad(fmt.Sprintf("element %q too long", e[:16]+"..."))
		}
	}
	return nil
}

// reserved reports the names of the folder's own files.
func reserved(name string) bool {
	switch name {
	case ManifestName, CustodyName, journalName, EnvelopeName, TimestampName, TSAChainName:
		return true
	}
	return false
}
