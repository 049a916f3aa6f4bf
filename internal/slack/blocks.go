package slack

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/quell-ir/quell/internal/alert"
	"github.com/quell-ir/quell/internal/incident"
)

// Slack's limits on text in blocks.
const (
	maxHeader  = 150
	maxSection = 3000
	maxLine    = 200
)

var statusEmoji = map[string]string{
	incident.StatusRunning:          ":rotating_light:",
	incident.StatusAwaitingApproval: ":raised_hand:",
	incident.StatusCompleted:        ":white_check_mark:",
	incident.StatusFailed:           ":x:",
}

var statusWord = map[string]string{
	incident.StatusRunning:          "Running",
	incident.StatusAwaitingApproval: "Awaiting approval",
	incident.StatusCompleted:        "Completed",
	incident.StatusFailed:           "Failed",
}

var stepEmoji = map[string]string{
	incident.StepPending:          ":white_circle:",
	incident.StepRunning:          ":hourglass_flowing_sand:",
	incident.StepSucceeded:        ":white_check_mark:",
	incident.StepFailed:           ":x:",
	incident.StepSkipped:          ":fast_forward:",
	incident.StepAwaitingApproval: ":raised_hand:",
}

// IncidentBlocks renders the incident's message: a header with its status
// and rule, the target and key figures, one line per step, the units when
// images were replaced, and the links. It is pure.
func IncidentBlocks(inc incident.Incident, links Links) []slackgo.Block {
	blocks := []slackgo.Block{
		slackgo.NewHeaderBlock(plain(truncate(headerText(inc), maxHeader))),
		slackgo.NewSectionBlock(nil, summaryFields(inc), nil),
	}
	if inc.Resolution != "" {
		blocks = append(blocks, section("*Resolution:* "+esc(inc.Resolution)))
	}
	if len(inc.Steps) > 0 {
		blocks = append(blocks, sections("*Steps*", stepLines(inc.Steps))...)
	}
	if lines := unitLines(inc); len(lines) > 0 {
		blocks = append(blocks, sections("*Units*", lines)...)
	}
	return append(blocks, footer(inc, links))
}

// incidentText is the message's notification text.
func incidentText(inc incident.Incident) string {
	return esc(headerText(inc) + " on " + targetName(inc.Target))
}

func headerText(inc incident.Incident) string {
	emoji, word := statusEmoji[inc.Status], statusWord[inc.Status]
	if emoji == "" {
		emoji, word = ":grey_question:", inc.Status
	}
	return fmt.Sprintf("%s %s · %s", emoji, word, cmp.Or(inc.Rule, "incident"))
}

// summaryFields are the incident's key figures, two to a row.
func summaryFields(inc incident.Incident) []*slackgo.TextBlockObject {
	t := inc.Target
	fields := []*slackgo.TextBlockObject{
		field("Container", containerText(t)),
		field("Priority", priorityText(inc.Priority)),
	}
	if img := cmp.Or(t.Image, shortID(t.ImageID)); img != "" {
		fields = append(fields, field("Image", code(img)))
	}
	if t.Host != "" {
		fields = append(fields, field("Host", code(t.Host)))
	}
	fields = append(fields, field("Alerts", fmt.Sprint(inc.AlertsCount)))
	if inc.ContainedAt != nil {
		fields = append(fields, field("Time to contain", "*"+duration(inc.TimeToContain())+"*"))
	}
	if inc.Evidence != nil {
		fields = append(fields, field("Evidence", evidenceText(*inc.Evidence)))
	}
	return fields
}

func containerText(t alert.Target) string {
	id := shortID(t.ContainerID)
	switch {
	case t.ContainerName != "" && id != "":
		return fmt.Sprintf("*%s* (%s)", code(t.ContainerName), code(id))
	case t.ContainerName != "":
		return "*" + code(t.ContainerName) + "*"
	case id != "":
		return code(id)
	case t.Pod != "":
		return code(t.Namespace + "/" + t.Pod)
	}
	return "unknown"
}

// targetName names the target in a few words for notification texts.
func targetName(t alert.Target) string {
	return cmp.Or(t.ContainerName, shortID(t.ContainerID), t.Image, "unknown target")
}

func priorityText(p alert.Priority) string {
	s := strings.ToUpper(p.String())
	if p >= alert.Critical {
		return ":red_circle: *" + s + "*"
	}
	return s
}

func evidenceText(e incident.Evidence) string {
	s := fmt.Sprintf("%d artifacts", len(e.Artifacts))
	if e.ManifestSHA256 != "" {
		s += ", manifest " + code(shortHash(e.ManifestSHA256))
	}
	if e.Verified {
		return s + "\n:lock: verified"
	}
	return s + "\nnot verified yet"
}

// stepLines renders one line per step, e.g.
// ":white_check_mark: contain (docker:isolate) 0.2s".
func stepLines(steps []incident.Step) []string {
	lines := make([]string, len(steps))
	for i, s := range steps {
		lines[i] = truncate(stepLine(s), maxLine)
	}
	return lines
}

func stepLine(s incident.Step) string {
	emoji := stepEmoji[s.Status]
	if emoji == "" {
		emoji = ":grey_question:"
	}
	name := esc(s.ID)
	if s.Status == incident.StepFailed || s.Status == incident.StepAwaitingApproval {
		name = "*" + name + "*"
	}
	line := fmt.Sprintf("%s %s (%s)", emoji, name, esc(s.Kind))
	if s.StartedAt != nil && s.FinishedAt != nil {
		line += " " + duration(s.FinishedAt.Sub(*s.StartedAt))
	}
	switch {
	case s.Status == incident.StepFailed && s.Error != "":
		return line + ": " + esc(s.Error)
	case s.Status == incident.StepAwaitingApproval:
		return line + ": waiting for approval"
	case s.Summary != "":
		return line + " — " + esc(s.Summary)
	}
	return line
}

// duration shows d as "0.2s" under a minute and "2m5s" above.
func duration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// footer names the incident and its playbook, and links to its report and
// workflow.
func footer(inc incident.Incident, links Links) slackgo.Block {
	parts := []string{"Incident " + code(inc.ID)}
	if inc.Playbook != "" {
		parts = append(parts, "playbook "+code(inc.Playbook))
	}
	if links.Report != "" {
		parts = append(parts, link(links.Report, "Report"))
	}
	if links.Temporal != "" {
		parts = append(parts, link(links.Temporal, "Temporal"))
	}
	return slackgo.NewContextBlock("", mrkdwn(strings.Join(parts, " · ")))
}
