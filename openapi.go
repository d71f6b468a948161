// Package oauthd holds what the binary carries from the repository's root:
// the OpenAPI description of the API, which the server publishes at
// GET /openapi.yaml and renders at GET /docs.
package oauthd

import _ "embed"

// OpenAPI is openapi.yaml, the contract every test response is checked
// against.
//
//go:embed openapi.yaml
var OpenAPI []byte
