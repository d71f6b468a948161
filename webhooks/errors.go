package webhooks

import (
	"fmt"

	"github.com/oauthd/oauthd/internal/fault"
)

// Limits that keep one tenant's webhooks bounded in storage and in the
// delivery work they cause.
const (
	maxWebhooksPerTenant = 20
	maxActiveSecrets     = 5
	maxEventPatterns     = 50
	maxDescriptionLen    = 500
)

// Problems this package reports.
var (
	ErrNotFound       = fault.New(fault.NotFound, "webhook_not_found", "no such webhook in this tenant")
	ErrSecretNotFound = fault.New(fault.NotFound, "webhook_secret_not_found", "no such secret of this webhook")
	ErrTooMany        = fault.New(fault.Conflict, "too_many_webhooks",
		fmt.Sprintf("a tenant has at most %d webhooks; delete one before creating another", maxWebhooksPerTenant))
	ErrTooManySecrets = fault.New(fault.Conflict, "too_many_secrets",
		fmt.Sprintf("a webhook has at most %d unexpired secrets; delete one or let one expire first", maxActiveSecrets))
	ErrLastSecret = fault.New(fault.Conflict, "last_webhook_secret",
		"this is the webhook's only unexpired secret and deliveries must be signed; create a new one first")
)
