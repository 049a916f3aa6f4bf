package slack

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/quell-ir/quell/internal/incident"
)

// unitLines renders the units and the image change, when the incident
// acted on more than the one container or replaced an image.
func unitLines(inc incident.Incident) []string {
	if !showUnits(inc) {
		return nil
	}
	var lines []string
	if im := inc.Image; im != nil {
		lines = append(lines, imageLine(*im))
	}
	for _, u := range inc.Units {
		lines = append(lines, truncate(unitLine(u), maxLine))
	}
	return lines
}

func showUnits(inc incident.Incident) bool {
	if inc.Image != nil || len(inc.Units) > 1 {
		return true
	}
	for _, u := range inc.Units {
		if u.Replacement != nil {
			return true
		}
	}
	return false
}

// imageLine is e.g. "Image `0123456789ab` → `ba9876543210` (`app:1`), old image deleted".
func imageLine(im incident.ImageChange) string {
	s := "*Image* " + code(shortID(im.OldImageID))
	if im.NewImageID != "" {
		s += " → " + code(shortID(im.NewImageID))
	}
	if im.Ref != "" {
		s += fmt.Sprintf(" (%s)", code(im.Ref))
	}
	if im.DeletedAt != nil {
		s += ", old image deleted"
	}
	return s
}

// unitLine is e.g. "• :biohazard_sign: `web-1` `0123456789ab` → `ba9876543210`, removed".
func unitLine(u incident.Unit) string {
	var b strings.Builder
	b.WriteString("• ")
	if u.Compromised {
		b.WriteString(":biohazard_sign: ")
	}
	b.WriteString(code(cmp.Or(u.Name, shortID(u.ContainerID))))
	if u.ImageID != "" {
		b.WriteString(" " + code(shortID(u.ImageID)))
	}
	if r := u.Replacement; r != nil && r.ImageID != "" {
		b.WriteString(" → " + code(shortID(r.ImageID)))
	}
	switch {
	case u.Removed:
		b.WriteString(", removed")
	case u.Quarantined != "":
		b.WriteString(", quarantined as " + code(u.Quarantined))
	}
	return b.String()
}
