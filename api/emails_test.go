package api_test

import (
	"net/http"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// Look-alike emails: the NFC and NFD spellings of one address are one
// user (stored in NFC; case folded beyond ASCII on any database locale),
// and invisible or bidi characters are refused with 422 naming email.
func TestEmailsHaveOneSpelling(t *testing.T) {
	e := apitest.New(t)
	const nfc, nfd = "jos\u00e9@example.test", "jose\u0301@example.test"
	user := func(email string) *apitest.Response {
		return e.Post("/v2/users", &e.Super, doc("user", map[string]any{"email": email, "password": "correct horse battery"}, nil))
	}
	id := user(nfd).ExpectStatus(t, http.StatusCreated).ID(t)
	if got := e.Get("/v2/users/"+id, &e.Super).Attr(t, "email"); got != nfc {
		t.Errorf("stored %q, want the NFC spelling %q", got, nfc)
	}
	expectError(t, user(nfc), http.StatusConflict, "email_taken", "/data/attributes/email")
	// Case is folded beyond ASCII, in Go, whatever the database's locale:
	// JOSÉ (composed or not) and josé are one user, and so are ÉVA and éva.
	expectError(t, user("JOS\u00c9@example.test"), http.StatusConflict, "email_taken", "/data/attributes/email")
	expectError(t, user("JOSE\u0301@EXAMPLE.test"), http.StatusConflict, "email_taken", "/data/attributes/email")
	user("\u00c9VA@example.test").ExpectStatus(t, http.StatusCreated)
	expectError(t, user("\u00e9va@example.test"), http.StatusConflict, "email_taken", "/data/attributes/email")
	expectError(t, e.Patch("/v2/users/"+id, &e.Super, doc("user", map[string]any{"email": "\u00e9Va@Example.test"}, nil)),
		http.StatusConflict, "email_taken", "/data/attributes/email")
	// Basic auth with the other spelling is the same user.
	key, _ := e.Post("/v2/users/"+id+"/api-keys", &e.Super, doc("api-key", map[string]any{"name": "k"}, nil)).
		ExpectStatus(t, http.StatusCreated).Attr(t, "key").(string)
	e.Get("/v2/users/me", &apitest.Creds{Email: nfd, Key: key}).ExpectStatus(t, http.StatusOK)
	e.Get("/v2/users/me", &apitest.Creds{Email: "JOS\u00c9@example.test", Key: key}).ExpectStatus(t, http.StatusOK)

	for _, bad := range []string{"a\u200b@example.test", "\u202eabc@example.test", "ab\u2066c@example.test",
		"a\u00ad@example.test", "a\u200d@example.test"} {
		expectError(t, user(bad), http.StatusUnprocessableEntity, "invisible_character", "/data/attributes/email")
		expectError(t, e.Patch("/v2/users/"+id, &e.Super, doc("user", map[string]any{"email": bad}, nil)),
			http.StatusUnprocessableEntity, "invisible_character", "/data/attributes/email")
	}
}
