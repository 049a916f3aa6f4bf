package intake

import (
	"time"

	"github.com/quell-ir/quell/internal/alert"
)

// Parsers are the alert formats quell reads from a file or a plan request,
// by source: Falco's, Trivy's and quell's own ("generic").
var Parsers = map[string]func(body []byte, receivedAt time.Time) (alert.Alert, error){
	"falco": ParseFalco, "trivy": ParseTrivy, "generic": ParseGeneric,
}
