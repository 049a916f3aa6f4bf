package activities

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
)

// Error types of non-retryable failures and refusals, as Temporal carries
// them (ApplicationError.Type), every one of quell's in this one place.
// Transient failures are plain errors that Temporal retries.
const (
	// ErrTypeNotFound: the container or image does not exist.
	ErrTypeNotFound = "NotFound"
	// ErrTypeTargetMismatch: the container found is not the one the alert named.
	ErrTypeTargetMismatch = "TargetMismatch"
	// ErrTypeBadInput: the step was given parameters it cannot act on.
	ErrTypeBadInput = "BadInput"
	// ErrTypeEvidenceMismatch: a preserved artifact no longer matches its hash.
	ErrTypeEvidenceMismatch = "EvidenceMismatch"
	// ErrTypeRefused: a policy refuses the action.
	ErrTypeRefused = "Refused"
	// ErrTypeRateLimited: the chat service asks to wait; retried after its delay.
	ErrTypeRateLimited = "RateLimited"
	// ErrTypeBadPlaybook: the workflow was given a playbook it cannot run.
	ErrTypeBadPlaybook = "BadPlaybook"
	// ErrTypeDeleteRefused: a registry does not allow deletes (405
	// UNSUPPORTED); the image survives there. The error's details hold
	// what was deleted elsewhere (RegistryDeleteResult).
	ErrTypeDeleteRefused = "DeleteRefused"
	// ErrTypeRolledBack: a rollout did not complete in time and was rolled
	// back to the images it replaced.
	ErrTypeRolledBack = "RolledBack"
)

// Error types of refused decisions, as the decision update's validator
// returns them.
const (
	// ErrTypeNotApprover: the approver may not decide the step.
	ErrTypeNotApprover = "NotApprover"
	// ErrTypeNotWaiting: the step is not waiting for a decision.
	ErrTypeNotWaiting = "NotWaiting"
	// ErrTypeBadDecision: the decision is neither approve nor reject.
	ErrTypeBadDecision = "BadDecision"
)

// permanent wraps err as a non-retryable failure of type typ.
func permanent(typ string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, err)
}

// permanentf formats a non-retryable failure of type typ.
func permanentf(typ, format string, args ...any) error {
	return permanent(typ, fmt.Errorf(format, args...))
}

// classify turns a not-found error from an adapter into a permanent failure
// and leaves every other error to Temporal's retries.
func classify(err error, notFound error) error {
	if err != nil && errors.Is(err, notFound) {
		return permanent(ErrTypeNotFound, err)
	}
	return err
}
