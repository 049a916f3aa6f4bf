package report

import (
	"strings"

	"github.com/quell-ir/quell/internal/incident"
)

// registries writes what the registry steps did: where the clean image was
// pushed, what was deleted, which registry kept the bad image, and the
// blast radius.
func (m *mdWriter) registries(inc incident.Incident) {
	img := inc.Image
	if img == nil || (len(img.Pushed) == 0 && len(img.RegistryDeleted) == 0 && len(img.RegistryRefused) == 0 && img.BlastRadius == nil) {
		return
	}
	m.printf("## Registries\n\n")
	for _, p := range img.Pushed {
		m.printf("- Pushed `%s` as `%s`", p.Tag, p.Ref)
		if p.Previous != "" {
			m.printf(" (was `%s`)", p.Previous)
		}
		m.printf("\n")
	}
	for _, d := range img.RegistryDeleted {
		m.printf("- Deleted `%s@%s`, tags %s", d.Repository, d.Digest, cell(orDash(strings.Join(d.Tags, ", "))))
		if d.AlreadyGone {
			m.printf(" (gone when a retry looked: an earlier attempt deleted it)")
		}
		m.printf("\n")
	}
	for _, r := range img.RegistryRefused {
		m.printf("- **Survives** in `%s@%s` (tags %s): the registry refused the delete (%s)\n",
			r.Repository, r.Digest, cell(orDash(strings.Join(r.Tags, ", "))), cell(r.Reason))
	}
	if b := img.BlastRadius; b != nil {
		m.printf("\n### Blast radius\n\n%d image(s) compared; base: %s; own layers: %d.", b.Scanned, cell(b.Base), len(b.OwnLayers))
		if b.Truncated {
			m.printf(" The scan stopped at its limit: more may be affected.")
		}
		m.printf("\n\n| Repository | Tags | Digest | Own layers held | Built on it |\n|---|---|---|---|---|\n")
		for _, a := range b.Affected {
			m.printf("| %s | %s | `%s` | %d of %d | %t |\n", cell(a.Repository), cell(orDash(strings.Join(a.Tags, ", "))),
				a.Digest, a.Shared, len(b.OwnLayers), a.BuiltOn)
		}
		if len(b.Affected) == 0 {
			m.printf("| - | - | - | - | - |\n")
		}
	}
	m.printf("\n")
}
