// Package keyring seals secrets at rest with AES-256-GCM. Every ciphertext is
// stored beside the id of the key that sealed it, so the master key can be
// rotated: new secrets use the current key and old ones still open with the
// previous keys until they are re-sealed.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a master key in bytes (AES-256).
const KeySize = 32

// ErrUnknownKey means a ciphertext was sealed with a key this keyring lacks.
var ErrUnknownKey = errors.New("keyring: ciphertext sealed with an unknown key")

type key struct {
	id   string
	aead cipher.AEAD
	raw  []byte
}

func (k *key) derive(label string) []byte {
	m := hmac.New(sha256.New, k.raw)
	m.Write([]byte("oauthd-derive:" + label))
	return m.Sum(nil)
}

// Keyring holds the current key and any previous ones.
type Keyring struct {
	current *key
	byID    map[string]*key
}

// New builds a keyring; the first key seals, all of them open.
func New(current []byte, previous ...[]byte) (*Keyring, error) {
	k := &Keyring{byID: map[string]*key{}}
	for i, raw := range append([][]byte{current}, previous...) {
		if len(raw) != KeySize {
			return nil, fmt.Errorf("keyring: key %d is %d bytes, want %d", i, len(raw), KeySize)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		kk := &key{id: KeyID(raw), aead: aead, raw: append([]byte(nil), raw...)}
		if i == 0 {
			k.current = kk
		}
		k.byID[kk.id] = kk
	}
	return k, nil
}

// KeyID names a key without revealing it.
func KeyID(raw []byte) string {
	sum := sha256.Sum256(append([]byte("oauthd-keyring-id:"), raw...))
	return "k" + hex.EncodeToString(sum[:6])
}

// ParseKey decodes a master key written as base64 (standard or URL-safe,
// padded or not) or as 64 hex digits.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("must be %d random bytes, base64 or hex encoded", KeySize)
}

// NewKey returns a fresh random key, base64 encoded.
func NewKey() string {
	b := make([]byte, KeySize)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// CurrentKeyID is the id of the key that seals new secrets.
func (k *Keyring) CurrentKeyID() string { return k.current.id }

// Seal encrypts plaintext bound to aad (the row it belongs to, so a
// ciphertext copied to another row does not open).
func (k *Keyring) Seal(plaintext, aad []byte) (ciphertext []byte, keyID string) {
	nonce := make([]byte, k.current.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return k.current.aead.Seal(nonce, nonce, plaintext, aad), k.current.id
}

// Open decrypts a ciphertext sealed by Seal.
func (k *Keyring) Open(ciphertext []byte, keyID string, aad []byte) ([]byte, error) {
	kk, ok := k.byID[keyID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	n := kk.aead.NonceSize()
	if len(ciphertext) < n {
		return nil, errors.New("keyring: ciphertext too short")
	}
	plain, err := kk.aead.Open(nil, ciphertext[:n], ciphertext[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("keyring: open: %w", err)
	}
	return plain, nil
}

// DeriveKey returns a 32-byte key for one purpose (label), derived from the
// current master key, so every instance derives the same one without
// storing it. Rotating the master key changes it.
func (k *Keyring) DeriveKey(label string) []byte {
	return k.current.derive(label)
}
