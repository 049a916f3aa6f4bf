package intake

// Limits on what intake reads. A payload beyond one is refused with an
// *Error naming the limit; beyond MaxDepth it is invalid (400), beyond the
// others too large (ErrTooLarge, 413). The HTTP API bounds the body itself
// (1 MiB).
const (
	// MaxDepth is the deepest nesting of JSON objects and arrays a payload
	// may have.
	MaxDepth = 32
	// MaxFields bounds the values of an alert's fields (Falco's
	// output_fields, the fields of quell's format), nested values counted.
	MaxFields = 100
	// MaxLabels bounds the labels of an alert.
	MaxLabels = 64
	// MaxAnnotations bounds the annotations of an Alertmanager alert.
	MaxAnnotations = 32
	// MaxNameLen bounds the name of a field, label or annotation, in bytes.
	MaxNameLen = 64
	// MaxTags bounds the tags of an alert.
	MaxTags = 32
	// MaxAlerts bounds the alerts of one Alertmanager webhook; set
	// max_alerts in Alertmanager's webhook_config to stay under it.
	MaxAlerts = 1000
)

// Limits on what an alert keeps. Text longer than its limit is cut, never
// refused: the alert is real, however long an attacker made its command
// line. Lengths are in bytes of the value's JSON encoding (what Temporal
// history stores, so "<" counts 6), quotes not counted; a cut value ends
// with "…" and is listed in Alert.Truncated.
const (
	// MaxOutput bounds the alert's output line.
	MaxOutput = 4096
	// MaxText bounds each value of fields, labels and annotations.
	MaxText = 1024
	// MaxRule bounds the rule's name.
	MaxRule = 256
	// MaxShortText bounds the short free text of an alert: detector IDs,
	// a scan finding's ID, package and versions.
	MaxShortText = 128
	// MaxTitle bounds a scan finding's title.
	MaxTitle = 200
	// MaxTag bounds each tag.
	MaxTag = 64
	// MaxCollections bounds the fields, labels and annotations of an alert
	// together, as JSON; when they would take more, their longest values
	// are cut further, evenly. Names within MaxNameLen always fit.
	MaxCollections = 16 << 10
	// MaxImageNames bounds an image target's RepoTags and RepoDigests each.
	MaxImageNames = 8
	// MaxAlertJSON bounds a normalised alert encoded as JSON, whatever the
	// payload: the limits above keep every alert under it.
	MaxAlertJSON = 32 << 10
)

// minCut is the shortest that fitting MaxCollections cuts a value to.
const minCut = 8
