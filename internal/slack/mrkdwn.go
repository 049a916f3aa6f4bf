package slack

import (
	"strings"

	slackgo "github.com/slack-go/slack"
)

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// esc escapes the three characters Slack's mrkdwn reserves.
func esc(s string) string { return escaper.Replace(s) }

// code shows s escaped in a code span; backticks in s become quotes.
func code(s string) string { return "`" + strings.ReplaceAll(esc(s), "`", "'") + "`" }

// link is an mrkdwn link to url.
func link(url, text string) string { return "<" + esc(url) + "|" + esc(text) + ">" }

// mention shows a Slack user (U..., W...) or user group (S...) ID as a
// mention, and anything else escaped as it is.
func mention(who string) string {
	switch {
	case strings.HasPrefix(who, "<") && strings.HasSuffix(who, ">"):
		return who
	case isID(who, "UW"):
		return "<@" + who + ">"
	case isID(who, "S"):
		return "<!subteam^" + who + ">"
	}
	return esc(who)
}

// isID reports whether s looks like a Slack ID starting with one of prefixes.
func isID(s, prefixes string) bool {
	if len(s) < 2 || !strings.ContainsRune(prefixes, rune(s[0])) {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// shortID is a container or image ID without its algorithm, cut to 12.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
}

// shortHash is a hex hash cut to 12.
func shortHash(h string) string { return h[:min(12, len(h))] }

// truncate cuts s to at most n runes, ending with an ellipsis when cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func plain(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, false)
}

func field(name, value string) *slackgo.TextBlockObject { return mrkdwn("*" + name + "*\n" + value) }

func section(text string) *slackgo.SectionBlock {
	return slackgo.NewSectionBlock(mrkdwn(text), nil, nil)
}

// sections puts a title and lines into as few sections as Slack's text
// limit allows.
func sections(title string, lines []string) []slackgo.Block {
	var out []slackgo.Block
	text := title
	for _, l := range lines {
		if len(text)+1+len(l) > maxSection {
			out = append(out, section(text))
			text = ""
		}
		text = strings.TrimPrefix(text+"\n"+l, "\n")
	}
	return append(out, section(text))
}
