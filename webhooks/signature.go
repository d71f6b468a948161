package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a delivery's signatures.
const SignatureHeader = "Oauthd-Signature"

// Sign returns the Oauthd-Signature value for body sent at t: "t=<unix
// seconds>" then one "v1=<hex HMAC-SHA256 of "<t>.<body>">" per secret
// (during a rotation, one for each live secret, newest first). The scheme
// is Stripe's: the timestamp is signed with the body, so a receiver that
// checks it against its clock refuses replays of old deliveries.
func Sign(t time.Time, body []byte, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	parts := []string{"t=" + ts}
	for _, s := range secrets {
		parts = append(parts, "v1="+hex.EncodeToString(mac(s, ts, body)))
	}
	return strings.Join(parts, ",")
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verification failures.
var (
	ErrSignatureMalformed = errors.New("webhooks: malformed Oauthd-Signature header")
	ErrSignatureMismatch  = errors.New("webhooks: no signature matches the secret")
	ErrSignatureTooOld    = errors.New("webhooks: signature timestamp outside the tolerance")
)

// Verify checks a received delivery as a receiver should: some v1
// signature matches secret (compared in constant time) and t lies within
// tolerance of now. It is what oauthd's own tests run; receivers in other
// languages follow the same steps.
func Verify(header string, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return ErrSignatureMalformed
			}
			sigs = append(sigs, b)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignatureMalformed
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureTooOld
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrSignatureMismatch
}
