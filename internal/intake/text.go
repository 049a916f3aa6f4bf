package intake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/quell-ir/quell/internal/alert"
)

// ellipsis ends a cut value.
const ellipsis = "…"

// visible returns the visible form free text keeps of r, or "" when r is
// kept as it is: C0 controls and DEL as \n, \r, \t or \xNN; C1 controls,
// the line and paragraph separators and the bidirectional formatting
// characters (which reorder what a reader sees) as \uNNNN.
func visible(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	switch {
	case r < 0x20 || r == 0x7f:
		return fmt.Sprintf(`\x%02x`, r)
	case r >= 0x80 && r <= 0x9f, r == 0x2028, r == 0x2029, r == 0x200e, r == 0x200f,
		r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return fmt.Sprintf(`\u%04x`, r)
	}
	return ""
}

// jsonLen is how many bytes encoding/json writes for s, quotes not
// counted, with its default HTML escaping.
func jsonLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		n += jsonRuneLen(r, size)
		i += size
	}
	return n
}

// jsonRuneLen is how many bytes encoding/json writes for one rune of
// size bytes.
func jsonRuneLen(r rune, size int) int {
	switch {
	case r == '"' || r == '\\', r == '\n', r == '\r', r == '\t', r == '\b', r == '\f':
		return 2
	case r < 0x20, r == '<', r == '>', r == '&', r == 0x2028, r == 0x2029:
		return 6
	case r == utf8.RuneError && size == 1:
		return 6 // written as \ufffd
	}
	return size
}

// plain reports whether s needs no escaping and encodes as itself.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// safeText returns s with every character visible returns a form for
// replaced by it and invalid UTF-8 by U+FFFD, cut to at most limit bytes
// of JSON (ending with "…" when cut). It reports whether it cut.
func safeText(s string, limit int) (string, bool) {
	if len(s) <= limit && plain(s) {
		return s, false
	}
	var b strings.Builder
	room, cut := limit, false
	if escapedLen(s) > limit {
		room, cut = limit-len(ellipsis), true
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		piece := visible(r)
		if piece == "" {
			piece = string(r) // U+FFFD for invalid UTF-8
		}
		n := jsonLen(piece)
		if n > room {
			break
		}
		room -= n
		b.WriteString(piece)
	}
	if cut {
		b.WriteString(ellipsis)
	}
	return b.String(), cut
}

// escapedLen is jsonLen of s once its characters are made visible.
func escapedLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if piece := visible(r); piece != "" {
			n += jsonLen(piece)
			continue
		}
		if r == utf8.RuneError && size == 1 {
			n += len(string(utf8.RuneError))
			continue
		}
		n += jsonRuneLen(r, size)
	}
	return n
}

// keeper makes an alert's free text safe and bounded, and records what
// it cut.
type keeper struct {
	cuts   []alert.Cut
	more   int      // cuts beyond alert.MaxCuts
	leaves []*leaf  // string values of the alert's collections
	marked []string // fields already in cuts or counted in more
}

// leaf is one string value of an alert's fields, labels or annotations.
type leaf struct {
	field string       // path in the alert
	full  string       // as the detector sent it
	kept  string       // as the alert keeps it
	set   func(string) // stores a new kept value
}

// text returns s made safe to keep, cut to limit bytes of JSON; a cut is
// recorded under field.
func (k *keeper) text(field, s string, limit int) string {
	kept, cut := safeText(s, limit)
	if cut {
		k.cut(field, s)
	}
	return kept
}

// cut records that the alert keeps the string full only in part.
func (k *keeper) cut(field, full string) {
	sum := sha256.Sum256([]byte(full))
	k.record(alert.Cut{Field: field, Size: len(full), SHA256: hex.EncodeToString(sum[:])})
}

// cutList records that the alert keeps only some items of a list.
func (k *keeper) cutList(field string, items []string) {
	b, _ := json.Marshal(items) // strings always encode
	sum := sha256.Sum256(b)
	k.record(alert.Cut{Field: field, Size: len(b), Items: len(items), SHA256: hex.EncodeToString(sum[:])})
}

// record adds c, or counts it once Truncated is full.
func (k *keeper) record(c alert.Cut) {
	for _, f := range k.marked {
		if f == c.Field {
			return
		}
	}
	k.marked = append(k.marked, c.Field)
	if len(k.cuts) >= alert.MaxCuts {
		k.more++
		return
	}
	k.cuts = append(k.cuts, c)
}

// value keeps s as a value of the alert's collections, cut to MaxText,
// stores it with set and remembers it for fit.
func (k *keeper) value(field, s string, set func(string)) {
	l := &leaf{field: field, full: s, kept: k.text(field, s, MaxText), set: set}
	set(l.kept)
	k.leaves = append(k.leaves, l)
}

// fit cuts the longest values of the alert's collections, evenly, until
// the collections (size bytes of JSON now) take at most MaxCollections.
// It fails only when names and numbers alone take more.
func (k *keeper) fit(payload string, size int) error {
	if size <= MaxCollections {
		return nil
	}
	lens := make([]int, len(k.leaves))
	for i, l := range k.leaves {
		lens[i] = jsonLen(l.kept)
	}
	// shrunk is the size once every value longer than c is cut to c bytes.
	shrunk := func(c int) int {
		n := size
		for _, l := range lens {
			if l > c {
				n -= l - c
			}
		}
		return n
	}
	if shrunk(minCut) > MaxCollections {
		return tooLarge(payload, "", "fields, labels and annotations take %d bytes with every value cut to %d; at most %d",
			shrunk(minCut), minCut, MaxCollections)
	}
	lo, hi := minCut, MaxText // shrunk(lo) fits; find the largest c that does
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if shrunk(mid) <= MaxCollections {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for i, l := range k.leaves {
		if lens[i] > lo {
			l.kept = k.text(l.field, l.full, lo)
			l.set(l.kept)
		}
	}
	return nil
}

// finish stores what k cut in a.
func (k *keeper) finish(a *alert.Alert) {
	a.Truncated, a.TruncatedMore = k.cuts, k.more
}
