package authserver

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/time/rate"

	"github.com/oauthd/oauthd/internal/bounded"
	"github.com/oauthd/oauthd/internal/changes"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/keyring"
)

// KeyOptions tune signing-key rotation; zero values take the defaults.
type KeyOptions struct {
	// Algorithm of new keys: "ES256" (default) or "RS256". Changing it
	// takes effect at the next rotation; tokens signed by earlier keys keep
	// verifying with their own key's algorithm.
	Algorithm string
	// RotateEvery is how long a key signs (default 30 days).
	RotateEvery time.Duration
	// Overlap is how long a retired key stays published: at least the
	// longest access-token lifetime plus a minute (default 2 h).
	Overlap time.Duration
}

const (
	defaultRotateEvery = 30 * 24 * time.Hour
	defaultOverlap     = 2 * time.Hour
	// reloadEvery is how often Run reloads keys and checks for rotation.
	reloadEvery = time.Minute
	// pollEvery is how often Run looks whether the keys changed.
	pollEvery = 250 * time.Millisecond
	// prepublish is how long a scheduled successor key is published before
	// it signs, so that verifiers caching the JWKS (max-age 300 s) and the
	// other instances (reload each minute) know it before its first token.
	prepublish = 10 * time.Minute
	// keysLockID is the advisory lock that serialises key creation across
	// instances (the migration lock is ...0001).
	keysLockID = 0x6f61757468640002
)

// ErrNoSigningKey means no key is active: Ensure has not run, or rotation
// has stalled.
var ErrNoSigningKey = errors.New("authserver: no active signing key")

// Keys holds the signing keys in memory. Signing and verifying never touch
// the database; Ensure and Run keep the cache in step with signing_keys,
// which all instances share.
type Keys struct {
	db   *database.DB
	kr   *keyring.Keyring
	opts KeyOptions
	alg  jose.SignatureAlgorithm

	mu     sync.RWMutex
	byKID  map[string]*signingKey
	newest []*signingKey // by activates_at, newest first

	reloadMu   sync.Mutex    // one reload at a time
	unknownKID *rate.Limiter // reloads caused by tokens naming an unknown kid

	verified *verifiedTokens // tokens whose signature this instance checked

	loadedFingerprint atomic.Pointer[string] // signing_keys as last seen by reloadIfChanged
}

// signingKey is one row of signing_keys, parsed.
type signingKey struct {
	kid    string
	alg    jose.SignatureAlgorithm
	public jose.JSONWebKey
	signer jose.Signer // nil once the key can no longer sign
	// es256 signs access tokens when the key is ES256 (nil otherwise, and
	// once the key can no longer sign): signer's work without go-jose.
	es256       *es256Signer
	activatesAt time.Time
	retiresAt   time.Time
	expiresAt   time.Time
}

// NewKeys builds the key cache; call Ensure before signing.
func NewKeys(db *database.DB, kr *keyring.Keyring, o KeyOptions) *Keys {
	if o.Algorithm == "" {
		o.Algorithm = string(jose.ES256)
	}
	if o.RotateEvery <= 0 {
		o.RotateEvery = defaultRotateEvery
	}
	if o.Overlap <= 0 {
		o.Overlap = defaultOverlap
	}
	return &Keys{
		db: db, kr: kr, opts: o, alg: jose.SignatureAlgorithm(o.Algorithm),
		byKID:      map[string]*signingKey{},
		verified:   newVerifiedTokens(verifiedTokensSize),
		unknownKID: rate.NewLimiter(rate.Every(time.Second), 1),
	}
}

// Ensure makes sure a key is active, creating one under a Postgres advisory
// lock when none is (instances starting together create one between them),
// then loads every published key.
func (k *Keys) Ensure(ctx context.Context) error {
	if err := k.checkAlgorithm(); err != nil {
		return err
	}
	if err := k.maintain(ctx, false); err != nil {
		return err
	}
	return k.reload(ctx)
}

// Run keeps this instance's keys current until ctx ends: every minute it
// rotates when the active key is due and reloads; every pollEvery it looks
// whether signing_keys changed (another instance rotated, or an operator
// withdrew a key) and reloads if so, so a withdrawn key stops verifying
// here within the second even when the NOTIFY (Handlers) is lost.
// Failures are logged and retried on the next tick.
func (k *Keys) Run(ctx context.Context, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	rotation := time.NewTicker(reloadEvery)
	defer rotation.Stop()
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	failing := false
	for {
		if err := k.maintain(ctx, true); err != nil && ctx.Err() == nil {
			log.Warn("signing keys: rotation check failed", "error", err)
		}
		if err := k.reload(ctx); err != nil && ctx.Err() == nil {
			log.Warn("signing keys: reload failed", "error", err)
		}
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return
			case <-rotation.C:
				waiting = false
			case <-poll.C:
				err := k.reloadIfChanged(ctx)
				if err != nil && !failing && ctx.Err() == nil {
					log.Warn("signing keys: change check failing; retrying", "error", err)
				}
				failing = err != nil
			}
		}
	}
}

// KeysChannel is the NOTIFY channel signing_keys' trigger uses.
const KeysChannel = "oauthd_keys"

// Handlers reload the keys when any instance changes signing_keys; give
// them to changes.Listen.
func (k *Keys) Handlers(log *slog.Logger) changes.Handlers {
	return changes.Handlers{KeysChannel: func() {
		if err := k.reload(context.Background()); err != nil {
			log.Warn("signing keys: reload failed", "error", err)
		}
	}}
}

// reloadIfChanged reloads when signing_keys differs from what this
// instance last loaded: one small query over a handful of rows.
func (k *Keys) reloadIfChanged(ctx context.Context) error {
	var fp string
	if err := k.db.Conn(ctx).Raw(`SELECT coalesce(string_agg(kid || ' ' || retires_at || ' ' || expires_at, ',' ORDER BY kid), '')
		FROM signing_keys`).Scan(&fp).Error; err != nil {
		return fmt.Errorf("check signing keys: %w", err)
	}
	if seen := k.loadedFingerprint.Load(); seen != nil && *seen == fp {
		return nil
	}
	if err := k.reload(ctx); err != nil {
		return err
	}
	k.loadedFingerprint.Store(&fp)
	return nil
}

// Rotate makes a new key active now. The keys it replaces stop signing at
// once and stay published for Overlap, so their tokens keep verifying.
func (k *Keys) Rotate(ctx context.Context) error {
	_, err := k.RotateNow(ctx, false)
	return err
}

// RotateNow makes a new key active now and returns its kid (oauthd admin
// rotate-signing-key). The keys it replaces stop signing at once. Unless
// withdraw is set they stay published for Overlap, so the tokens they
// signed keep verifying; with withdraw (a key suspected to have leaked)
// they are deleted, and every token they signed fails from then on. Other
// instances learn of it within the second (Watch).
func (k *Keys) RotateNow(ctx context.Context, withdraw bool) (string, error) {
	if err := k.checkAlgorithm(); err != nil {
		return "", err
	}
	var kid string
	err := k.db.InTx(ctx, func(ctx context.Context) error {
		if err := k.lock(ctx); err != nil {
			return err
		}
		tx := k.db.Conn(ctx)
		// A successor that never signed can go: the new key replaces it.
		if err := tx.Exec(`DELETE FROM signing_keys WHERE activates_at > now()`).Error; err != nil {
			return fmt.Errorf("rotate signing key: %w", err)
		}
		retire := tx.Exec(`UPDATE signing_keys
			SET retires_at = now(), expires_at = LEAST(expires_at, now() + make_interval(secs => ?))
			WHERE retires_at > now()`, k.opts.Overlap.Seconds())
		if withdraw {
			retire = tx.Exec(`DELETE FROM signing_keys`)
		}
		if retire.Error != nil {
			return fmt.Errorf("rotate signing key: %w", retire.Error)
		}
		var err error
		kid, err = k.create(ctx, 0)
		return err
	})
	if err != nil {
		return "", err
	}
	return kid, k.reload(ctx)
}

// JWKS is the public half of every published key, newest first.
func (k *Keys) JWKS() jose.JSONWebKeySet {
	now := time.Now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(k.newest))}
	for _, sk := range k.newest {
		if now.Before(sk.expiresAt) {
			set.Keys = append(set.Keys, sk.public)
		}
	}
	return set
}

// active is the key that signs now: the newest whose window holds now.
func (k *Keys) active() (*signingKey, error) {
	now := time.Now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, sk := range k.newest {
		if sk.signer != nil && !now.Before(sk.activatesAt) && now.Before(sk.retiresAt) {
			return sk, nil
		}
	}
	return nil, ErrNoSigningKey
}

// published returns the key kid names if it is still published.
func (k *Keys) published(kid string) (*signingKey, bool) {
	k.mu.RLock()
	sk, ok := k.byKID[kid]
	k.mu.RUnlock()
	if !ok || !time.Now().Before(sk.expiresAt) {
		return nil, false
	}
	return sk, true
}

func (k *Keys) checkAlgorithm() error {
	switch k.alg {
	case jose.ES256, jose.RS256:
		return nil
	}
	return fmt.Errorf("authserver: signing algorithm %q is not supported (ES256 or RS256)", k.alg)
}

func (k *Keys) lock(ctx context.Context) error {
	if err := k.db.Conn(ctx).Exec(`SELECT pg_advisory_xact_lock(?)`, int64(keysLockID)).Error; err != nil {
		return fmt.Errorf("lock signing keys: %w", err)
	}
	return nil
}

// maintain, under the advisory lock, drops expired keys, creates a key when
// none is active and, when rotate is set, publishes the active key's
// successor ahead of time once the active key is due.
//
// The state is read at statement_timestamp(), not now(): now() is when the
// transaction began, before it waited for the lock, and would not see as
// active a key another instance created meanwhile. Writes use now(), one
// instant for the whole transaction, so a retiring key's retires_at equals
// its successor's activates_at.
func (k *Keys) maintain(ctx context.Context, rotate bool) error {
	return k.db.InTx(ctx, func(ctx context.Context) error {
		if err := k.lock(ctx); err != nil {
			return err
		}
		tx := k.db.Conn(ctx)
		if err := tx.Exec(`DELETE FROM signing_keys WHERE expires_at <= statement_timestamp()`).Error; err != nil {
			return fmt.Errorf("drop expired signing keys: %w", err)
		}
		var state struct {
			Active  int64 `gorm:"column:active"`
			Due     int64 `gorm:"column:due"`
			Pending int64 `gorm:"column:pending"`
		}
		lead := k.opts.RotateEvery - min(prepublish, k.opts.RotateEvery/2)
		err := tx.Raw(`SELECT
			count(*) FILTER (WHERE activates_at <= statement_timestamp() AND statement_timestamp() < retires_at) AS active,
			count(*) FILTER (WHERE activates_at <= statement_timestamp() AND statement_timestamp() < retires_at
			                 AND activates_at <= statement_timestamp() - make_interval(secs => ?)) AS due,
			count(*) FILTER (WHERE activates_at > statement_timestamp()) AS pending
			FROM signing_keys`, lead.Seconds()).Scan(&state).Error
		if err != nil {
			return fmt.Errorf("read signing keys: %w", err)
		}
		switch {
		case state.Active == 0:
			_, err := k.create(ctx, 0)
			return err
		case rotate && state.Due > 0 && state.Pending == 0:
			wait := min(prepublish, k.opts.RotateEvery/2)
			if err := tx.Exec(`UPDATE signing_keys
				SET retires_at = now() + make_interval(secs => ?),
				    expires_at = now() + make_interval(secs => ?)
				WHERE activates_at <= now() AND now() < retires_at`,
				wait.Seconds(), (wait + k.opts.Overlap).Seconds()).Error; err != nil {
				return fmt.Errorf("retire signing key: %w", err)
			}
			_, err := k.create(ctx, wait)
			return err
		}
		return nil
	})
}

// create generates a key that starts signing after delay and stores it,
// its private half sealed with the keyring (bound to its kid); it returns
// the kid.
func (k *Keys) create(ctx context.Context, delay time.Duration) (string, error) {
	priv, pub, err := generate(k.alg)
	if err != nil {
		return "", err
	}
	jwk := jose.JSONWebKey{Key: pub, Algorithm: string(k.alg), Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("signing key thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	pubJSON, err := json.Marshal(jwk)
	if err != nil {
		return "", fmt.Errorf("signing key public JWK: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	sealed, sealedWith := k.kr.Seal(der, []byte(jwk.KeyID))
	clear(der)
	err = k.db.Conn(ctx).Exec(`INSERT INTO signing_keys
		(kid, algorithm, private_ciphertext, sealed_with, public_jwk, activates_at, retires_at, expires_at)
		VALUES (?, ?, ?, ?, ?::jsonb,
			now() + make_interval(secs => ?),
			now() + make_interval(secs => ?),
			now() + make_interval(secs => ?))`,
		jwk.KeyID, string(k.alg), sealed, sealedWith, string(pubJSON),
		delay.Seconds(), (delay + k.opts.RotateEvery).Seconds(),
		(delay + k.opts.RotateEvery + k.opts.Overlap).Seconds()).Error
	if err != nil {
		return "", fmt.Errorf("store signing key: %w", err)
	}
	return jwk.KeyID, nil
}

func generate(alg jose.SignatureAlgorithm) (crypto.Signer, crypto.PublicKey, error) {
	switch alg {
	case jose.ES256:
		p, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("generate signing key: %w", err)
		}
		return p, p.Public(), nil
	case jose.RS256:
		p, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, fmt.Errorf("generate signing key: %w", err)
		}
		return p, p.Public(), nil
	}
	return nil, nil, fmt.Errorf("authserver: signing algorithm %q is not supported", alg)
}

type keyRow struct {
	KID               string    `gorm:"column:kid"`
	Algorithm         string    `gorm:"column:algorithm"`
	PrivateCiphertext []byte    `gorm:"column:private_ciphertext"`
	SealedWith        string    `gorm:"column:sealed_with"`
	PublicJWK         string    `gorm:"column:public_jwk"`
	ActivatesAt       time.Time `gorm:"column:activates_at"`
	RetiresAt         time.Time `gorm:"column:retires_at"`
	ExpiresAt         time.Time `gorm:"column:expires_at"`
}

// reload replaces the cache with the published keys. Keys already parsed
// keep their signer; only new ones are unsealed. A key that can no longer
// sign is not unsealed at all.
func (k *Keys) reload(ctx context.Context) error {
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	return k.reloadLocked(ctx)
}

// refreshFor looks kid up again after a reload, for a token naming a key
// this instance has not loaded yet (another instance just created it).
// Such reloads are rate-limited, so tokens with made-up kids cannot flood
// the database; callers that queue behind a reload see its result.
func (k *Keys) refreshFor(ctx context.Context, kid string) (*signingKey, bool) {
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	if sk, ok := k.published(kid); ok {
		return sk, true
	}
	if !k.unknownKID.Allow() {
		return nil, false
	}
	if err := k.reloadLocked(ctx); err != nil {
		return nil, false
	}
	return k.published(kid)
}

func (k *Keys) reloadLocked(ctx context.Context) error {
	var rows []keyRow
	err := k.db.Conn(ctx).Raw(`SELECT kid, algorithm, private_ciphertext, sealed_with, public_jwk::text AS public_jwk,
			activates_at, retires_at, expires_at
		FROM signing_keys WHERE expires_at > now()`).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	k.mu.RLock()
	old := k.byKID
	k.mu.RUnlock()

	now := time.Now()
	byKID := make(map[string]*signingKey, len(rows))
	newest := make([]*signingKey, 0, len(rows))
	for i := range rows {
		sk, err := k.parseRow(&rows[i], old[rows[i].KID], now)
		if err != nil {
			return err
		}
		byKID[sk.kid] = sk
		newest = append(newest, sk)
	}
	sort.Slice(newest, func(i, j int) bool {
		if !newest[i].activatesAt.Equal(newest[j].activatesAt) {
			return newest[i].activatesAt.After(newest[j].activatesAt)
		}
		return newest[i].kid > newest[j].kid
	})
	k.mu.Lock()
	k.byKID, k.newest = byKID, newest
	k.mu.Unlock()
	return nil
}

func (k *Keys) parseRow(r *keyRow, cached *signingKey, now time.Time) (*signingKey, error) {
	sk := &signingKey{kid: r.KID, alg: jose.SignatureAlgorithm(r.Algorithm),
		activatesAt: r.ActivatesAt, retiresAt: r.RetiresAt, expiresAt: r.ExpiresAt}
	if cached != nil {
		sk.public, sk.signer, sk.es256 = cached.public, cached.signer, cached.es256
	} else if err := json.Unmarshal([]byte(r.PublicJWK), &sk.public); err != nil {
		return nil, fmt.Errorf("signing key %s: public JWK: %w", r.KID, err)
	}
	if sk.public.KeyID != r.KID || !sk.public.IsPublic() {
		return nil, fmt.Errorf("signing key %s: stored JWK does not match its row", r.KID)
	}
	if !now.Before(sk.retiresAt) {
		sk.signer, sk.es256 = nil, nil
		return sk, nil
	}
	if sk.signer != nil {
		return sk, nil
	}
	der, err := k.kr.Open(r.PrivateCiphertext, r.SealedWith, []byte(r.KID))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: sk.alg, Key: jose.JSONWebKey{Key: priv, KeyID: r.KID, Algorithm: r.Algorithm}},
		(&jose.SignerOptions{}).WithType(accessTokenType))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	sk.signer = signer
	if ec, ok := priv.(*ecdsa.PrivateKey); ok && sk.alg == jose.ES256 {
		if sk.es256, err = newES256Signer(r.KID, ec); err != nil {
			return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
		}
	}
	return sk, nil
}

// Caches are this instance's caches by name, for the metrics: the access
// tokens whose signature this instance has verified.
func (k *Keys) Caches() map[string]*bounded.Stats {
	return map[string]*bounded.Stats{"verified_access_tokens": k.verified.entries.Stats()}
}
