package oauth2

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// FuzzPageInputs feeds arbitrary values to the two decoders of untrusted
// browser input on the pages: the session cookie and the return_to
// parameter. Neither may panic; a cookie is accepted only if this key
// signed it, and return_to only ever names a path on this server.
func FuzzPageInputs(f *testing.F) {
	h := &Handler{d: Deps{SessionKey: bytes.Repeat([]byte{3}, 32), Issuer: "https://oauthd.test"}}
	now := time.Unix(1_800_000_000, 0)
	// Fixed values: fuzz workers are other processes that rebuild this setup.
	signed := session{UserID: uuid.MustParse("6f1c2a9e-0b7d-4a53-9d0e-3c1f2b4a5d6e"),
		ID: uuid.MustParse("0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70"), Expires: now.Add(time.Hour)}
	good := signed.encode(h)
	for _, s := range []string{
		good, good + "x", "." + good, "a.b", "", "....",
		"/device?user_code=BCDF-GHJK", "//evil.example", "/\\evil.example", "https://evil.example/",
		"/oauth/authorize?client_id=o2c_x&state=%00", "/\x00", "/\u202e", strings.Repeat("/a", 5000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		// The only session this key signed is the seed's: anything else
		// accepted would be a forgery.
		if s, ok := decodeSession(h, in, now); ok && (s.UserID != signed.UserID || s.ID != signed.ID || !s.Expires.Equal(signed.Expires)) {
			t.Fatalf("accepted a session this key did not sign: %q → %+v", in, s)
		}
		out := safeReturnTo(in)
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.Contains(out, "\\") {
			t.Fatalf("safeReturnTo(%q) = %q, which may leave this server", in, out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("safeReturnTo(%q) = %q holds a control character", in, out)
			}
		}
	})
}
