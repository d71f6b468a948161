// Package authserver holds grants and tokens with no HTTP in them: signing
// keys, issuing and validating access tokens, authorization codes, device
// codes, refresh-token families and revocation.
package authserver
