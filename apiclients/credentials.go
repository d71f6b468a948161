package apiclients

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/oauthd/oauthd/internal/bounded"
	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/flight"
)

// Prefixes make ids and secrets recognisable in logs and secret scanners.
const (
	ClientIDPrefix = "o2c_"
	SecretPrefix   = "o2s_"
)

// maxPresentedSecret bounds what Authenticate hashes: a generated secret
// is 47 characters, and bcrypt (of secrets stored before digests) reads at
// most 72 bytes anyway.
const maxPresentedSecret = 72

// newClientID returns a fresh public client id: 18 random bytes, URL-safe.
func newClientID() string { return credential.Random(ClientIDPrefix, 18) }

// newSecret returns a fresh secret: 32 random bytes, URL-safe (43
// characters after its prefix).
func newSecret() string { return credential.Random(SecretPrefix, 32) }

// How a secret is stored. Secrets are generated, 256 random bits each, so
// nobody can guess one and a slow hash buys nothing: a secret is stored as
// its SHA-256 (as API keys are), prefixed so that the stored form says
// what it is. Secrets stored before (bcrypt, "$2a$…") keep verifying, with
// bcrypt, once per secret and instance (verifiedCache).
const digestPrefix = "$sha256$"

// hashSecret is the stored form of a new secret.
func hashSecret(secret string) string {
	return digestPrefix + base64.RawStdEncoding.EncodeToString(credential.DigestOf(secret))
}

// slowHash reports whether a stored hash is bcrypt's (a secret stored
// before digests), which is worth remembering once verified.
func slowHash(hash string) bool { return !strings.HasPrefix(hash, digestPrefix) }

// compareSecret reports whether secret is the one hash was made from, in
// time that does not depend on where they differ.
func compareSecret(hash, secret string) bool {
	if rest, ok := strings.CutPrefix(hash, digestPrefix); ok {
		want, err := base64.RawStdEncoding.DecodeString(rest)
		return err == nil && subtle.ConstantTimeCompare(want, credential.DigestOf(secret)) == 1
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret)) == nil
}

// verifiedCache remembers secrets that bcrypt has verified (those stored
// before digests), so the token endpoint pays bcrypt once per secret and
// instance, not per request; concurrent first uses of a secret share one
// bcrypt comparison (checks), which its Stats count as loads. An
// entry is an HMAC of the secret row's id, the presented secret and the
// stored hash: it matches only while that very row is still loaded as
// active, so deleting, expiring or replacing a secret takes effect at once.
// The key is per process, so entries mean nothing anywhere else.
type verifiedCache struct {
	key     []byte
	entries *bounded.Map[[sha256.Size]byte, struct{}]
	checks  flight.Group[[sha256.Size]byte, bool]
}

const verifiedCacheSize = 10000

func newVerifiedCache(limit int) *verifiedCache {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &verifiedCache{key: key, entries: bounded.New[[sha256.Size]byte, struct{}](limit)}
}

func (c *verifiedCache) digest(secretID uuid.UUID, presented, hash string) [sha256.Size]byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(secretID[:])
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(presented)))
	m.Write(n[:]) // the length makes the presented secret and the hash unambiguous
	m.Write([]byte(presented))
	m.Write([]byte(hash))
	var out [sha256.Size]byte
	copy(out[:], m.Sum(nil))
	return out
}

func (c *verifiedCache) has(d [sha256.Size]byte) bool {
	_, ok := c.entries.Get(d)
	c.entries.Stats().Record(ok)
	return ok
}

func (c *verifiedCache) add(d [sha256.Size]byte) { c.entries.Put(d, struct{}{}) }

// check reports whether secret is the one the bcrypt hash of row id was
// made from: from the cache when verified before, else with bcrypt, which
// concurrent callers with the same row and secret share.
func (c *verifiedCache) check(id uuid.UUID, hash, secret string) bool {
	d := c.digest(id, secret, hash)
	if c.has(d) {
		return true
	}
	ok, _, _ := c.checks.Do(d, func() (bool, error) {
		// A caller that missed just before the previous check added the
		// entry and ended finds it here.
		if _, ok := c.entries.Get(d); ok {
			return true, nil
		}
		c.entries.Stats().RecordLoad()
		if !compareSecret(hash, secret) {
			return false, nil
		}
		c.add(d)
		return true, nil
	})
	return ok
}
