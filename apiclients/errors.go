package apiclients

import (
	"fmt"

	"github.com/oauthd/oauthd/internal/fault"
)

// maxActiveSecrets bounds a client's unexpired secrets: enough for any
// rotation, and it bounds the work a wrong secret can cause (a bcrypt each
// for secrets stored before digests).
const maxActiveSecrets = 5

// Problems this package reports.
var (
	ErrNotFound       = fault.New(fault.NotFound, "api_client_not_found", "no such API client in this tenant")
	ErrSecretNotFound = fault.New(fault.NotFound, "api_client_secret_not_found", "no such secret of this API client")
	// ErrInvalidClient is Authenticate's one answer to every failure
	// (unknown client, wrong or expired secret, a secret from a public
	// client...), so a caller learns nothing about which part was wrong.
	ErrInvalidClient = fault.New(fault.Invalid, "invalid_client", "client authentication failed")
	ErrPublicClient  = fault.New(fault.Conflict, "public_client_has_no_secrets",
		"public clients authenticate without a secret (and must use PKCE); only confidential clients have secrets")
	ErrTooManySecrets = fault.New(fault.Conflict, "too_many_secrets",
		fmt.Sprintf("an API client has at most %d unexpired secrets; delete one before creating another", maxActiveSecrets))
)
