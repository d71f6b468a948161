package apiclients

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync/atomic"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/oauthd/oauthd/internal/bounded"
	"github.com/oauthd/oauthd/internal/credential"
)

// Prefixes make ids and secrets recognisable in logs and secret scanners.
const (
	ClientIDPrefix = "o2c_"
	SecretPrefix   = "o2s_"
)

// maxPresentedSecret bounds what Authenticate hashes: a generated secret
// is 47 characters, and bcrypt reads at most 72 bytes anyway.
const maxPresentedSecret = 72

// newClientID returns a fresh public client id: 18 random bytes, URL-safe.
func newClientID() string { return credential.Random(ClientIDPrefix, 18) }

// newSecret returns a fresh secret: 32 random bytes, URL-safe (43
// characters), well under bcrypt's 72-byte limit with its prefix.
func newSecret() string { return credential.Random(SecretPrefix, 32) }

// cost is the deployment's bcrypt work factor (Options.BcryptCost; test
// environments build the service with bcrypt.MinCost).
func (s *Service) cost() int {
	if s.opts.BcryptCost != 0 {
		return s.opts.BcryptCost
	}
	return bcrypt.DefaultCost
}

func (s *Service) hash(secret string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(secret), s.cost())
	return string(h), err
}

// bcryptCompares counts bcrypt comparisons, so tests can see the cache work.
var bcryptCompares atomic.Int64

func compareSecret(hash, secret string) bool {
	bcryptCompares.Add(1)
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret)) == nil
}

// verifiedCache remembers secrets that bcrypt has verified, so the token
// endpoint pays bcrypt once per secret and instance, not per request. An
// entry is an HMAC of the secret row's id, the presented secret and the
// stored hash: it matches only while that very row is still loaded as
// active, so deleting, expiring or replacing a secret takes effect at once.
// The key is per process, so entries mean nothing anywhere else.
type verifiedCache struct {
	key     []byte
	entries *bounded.Map[[sha256.Size]byte, struct{}]
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
