// Package credential makes and stores the random credentials oauthd hands
// out — API keys, client ids and secrets, codes and tokens — and shows
// stored secrets by a hint. One place, so every credential has the same
// entropy, alphabet and storage form.
package credential

import (
	"crypto/rand"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/base64"
)

// Random returns prefix followed by n random bytes in URL-safe base64, so
// the credential needs no escaping in a URL, a form or a shell.
func Random(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Digest is how a high-entropy credential is stored: its SHA-256 (a fast
// hash is enough for 256 random bits, and it gives an indexed lookup). It
// is a driver.Valuer because GORM expands a plain []byte argument of a raw
// query into one placeholder per byte.
type Digest []byte

// DigestOf is the stored form of a credential.
func DigestOf(s string) Digest {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// Value implements driver.Valuer.
func (d Digest) Value() (driver.Value, error) { return []byte(d), nil }

// Hint shows a stored secret by its last four characters; a secret shorter
// than 12 characters gets no hint, since four of them give too much away.
func Hint(secret string) string {
	if len(secret) < 12 {
		return ""
	}
	return secret[len(secret)-4:]
}
