package oauth2

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/oauthd/oauthd/internal/metrics"
	"github.com/oauthd/oauthd/tenants"
)

// sessionTTL is how long a browser sign-in lasts.
const sessionTTL = 12 * time.Hour

// session is a signed-in browser. It lives only in its cookie: user id,
// a random session id (what CSRF tokens are bound to) and the expiry,
// signed with HMAC-SHA256 under the session key every instance derives
// from the master key, so any instance verifies it and none stores it.
type session struct {
	UserID  uuid.UUID
	ID      [16]byte
	Expires time.Time
}

const sessionPayloadLen = 16 + 16 + 8

// sessionCookieName and preSessionCookieName carry the __Host- prefix when
// the issuer is https: the browser then insists on Secure, Path=/ and no
// Domain, so a sibling subdomain cannot plant either cookie.
func (h *Handler) sessionCookieName() string    { return h.cookiePrefix() + "oauthd_session" }
func (h *Handler) preSessionCookieName() string { return h.cookiePrefix() + "oauthd_presession" }

func (h *Handler) cookiePrefix() string {
	if h.secureCookies() {
		return "__Host-"
	}
	return ""
}

func (h *Handler) secureCookies() bool { return strings.HasPrefix(h.d.Issuer, "https://") }

// mac is HMAC-SHA256 under the session key of a labelled message; the
// label separates session signatures from CSRF tokens.
func (h *Handler) mac(label string, parts ...[]byte) []byte {
	m, ok := h.macs.Get().(hash.Hash)
	if ok {
		m.Reset()
	} else {
		m = hmac.New(sha256.New, h.d.SessionKey)
	}
	defer h.macs.Put(m)
	m.Write([]byte(label))
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:]) // length-prefixed, so parts cannot run into each other
		m.Write(p)
	}
	return m.Sum(nil)
}

func (s session) encode(h *Handler) string {
	payload := make([]byte, 0, sessionPayloadLen)
	payload = append(payload, s.UserID[:]...)
	payload = append(payload, s.ID[:]...)
	payload = binary.BigEndian.AppendUint64(payload, uint64(s.Expires.Unix()))
	return base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(h.mac("session", payload))
}

func decodeSession(h *Handler, value string, now time.Time) (session, bool) {
	p, sig, ok := strings.Cut(value, ".")
	if !ok {
		return session{}, false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) != sessionPayloadLen || !hmac.Equal(mac, h.mac("session", payload)) {
		return session{}, false
	}
	var s session
	copy(s.UserID[:], payload[:16])
	copy(s.ID[:], payload[16:32])
	s.Expires = time.Unix(int64(binary.BigEndian.Uint64(payload[32:])), 0)
	if !now.Before(s.Expires) {
		return session{}, false
	}
	return s, true
}

// session is the browser's valid session cookie, if it has one.
func (h *Handler) session(c echo.Context) (session, bool) {
	ck, err := c.Cookie(h.sessionCookieName())
	if err != nil {
		return session{}, false
	}
	return decodeSession(h, ck.Value, time.Now())
}

// signedIn is the browser's session and user, or ok=false when there is
// no valid session (none, forged, expired, signed out, ended by a password
// change, or the user is gone): the cookie is checked here, and that the
// session is still alive in the database, so an ended session fails on
// every instance at once.
func (h *Handler) signedIn(c echo.Context) (session, *tenants.User, bool, error) {
	s, ok := h.session(c)
	if !ok {
		return session{}, nil, false, nil
	}
	u, err := h.d.Accounts.SessionUser(c.Request().Context(), s.ID[:], s.UserID)
	if errors.Is(err, tenants.ErrSessionEnded) {
		return session{}, nil, false, nil
	}
	if err != nil {
		return session{}, nil, false, err
	}
	return s, u, true, nil
}

func (h *Handler) setCookie(c echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.secureCookies(), SameSite: http.SameSiteLaxMode})
}

// startSession records a new session and gives the browser its cookie.
func (h *Handler) startSession(c echo.Context, userID uuid.UUID) error {
	s := session{UserID: userID, Expires: time.Now().Add(sessionTTL)}
	_, _ = rand.Read(s.ID[:])
	if err := h.d.Accounts.StartSession(c.Request().Context(), userID, s.ID[:], s.Expires); err != nil {
		return err
	}
	h.setCookie(c, h.sessionCookieName(), s.encode(h), int(sessionTTL.Seconds()))
	h.setCookie(c, h.preSessionCookieName(), "", -1)
	return nil
}

// preSession is the random id the sign-in form's CSRF token is bound to
// before anyone is signed in (a double-submit cookie); one is set when the
// browser has none.
func (h *Handler) preSession(c echo.Context) string {
	if ck, err := c.Cookie(h.preSessionCookieName()); err == nil && validPreSession(ck.Value) {
		return ck.Value
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	h.setCookie(c, h.preSessionCookieName(), v, int(sessionTTL.Seconds()))
	return v
}

func validPreSession(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == 16
}

// signInPasswords checks an email and password with the same work whether
// or not the email is known: an unknown email is compared against a dummy
// hash of the cost real hashes have.
type signInPasswords struct {
	dummy atomic.Pointer[[]byte]
}

// maxSignInEmail is the longest email a user can have (tenants allows
// 254 characters).
const maxSignInEmail = 254

// defaultPasswordCost is the users' production bcrypt cost, used for the
// dummy hash until a real hash shows the cost in use.
const defaultPasswordCost = 12

func (p *signInPasswords) dummyHash(cost int) []byte {
	if d := p.dummy.Load(); d != nil {
		if c, err := bcrypt.Cost(*d); err == nil && (cost == 0 || c == cost) {
			return *d
		}
	}
	if cost == 0 {
		cost = defaultPasswordCost
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	d, _ := bcrypt.GenerateFromPassword(b, cost)
	p.dummy.Store(&d)
	return d
}

// check returns the user whose email and password these are.
func (p *signInPasswords) check(ctx context.Context, users Accounts, email, password string) (*tenants.User, bool, error) {
	var u *tenants.User
	if len(email) <= maxSignInEmail { // a longer one names nobody: no lookup
		var err error
		u, err = users.UserByEmail(ctx, email)
		if errors.Is(err, tenants.ErrUserNotFound) {
			u = nil
		} else if err != nil {
			return nil, false, err
		}
	}
	if u == nil || u.PasswordHash == nil {
		_ = bcrypt.CompareHashAndPassword(p.dummyHash(0), []byte(password))
		return nil, false, nil
	}
	if cost, err := bcrypt.Cost([]byte(*u.PasswordHash)); err == nil {
		p.dummyHash(cost) // keep the dummy's cost in step with real hashes
	}
	if !u.CheckPassword(password) {
		return nil, false, nil
	}
	return u, true, nil
}

// SignInPage is GET /oauth/sign-in: the sign-in form, or who is signed in.
func (h *Handler) SignInPage(c echo.Context) error {
	returnTo := safeReturnTo(c.QueryParam("return_to"))
	s, u, ok, err := h.signedIn(c)
	if err != nil {
		return h.pageError(c, err)
	}
	if ok {
		return h.render(c, http.StatusOK, "signed_in.html", signedInPage{
			basePage: basePage{Title: "Signed in", Email: u.Email},
			SignOut:  h.signOutForm(s, "/oauth/sign-in"),
		})
	}
	return h.showSignIn(c, http.StatusOK, returnTo, "", "")
}

// showSignIn renders the sign-in form that comes back to returnTo.
func (h *Handler) showSignIn(c echo.Context, status int, returnTo, email, problem string) error {
	pre := h.preSession(c)
	return h.render(c, status, "signin.html", signInPage{
		basePage: basePage{Title: "Sign in"},
		CSRF:     h.csrfToken(pre, purposeSignIn),
		ReturnTo: returnTo, EmailValue: email, Problem: problem,
	})
}

// SignIn is POST /oauth/sign-in.
func (h *Handler) SignIn(c echo.Context) error {
	form, err := pageForm(c)
	if err != nil {
		return h.pageError(c, err)
	}
	pre, err := c.Cookie(h.preSessionCookieName())
	if err != nil || !validPreSession(pre.Value) || !h.csrfValid(form.Get("csrf"), pre.Value, purposeSignIn) {
		return h.csrfFailed(c)
	}
	returnTo := safeReturnTo(form.Get("return_to"))
	email := strings.TrimSpace(form.Get("email"))
	ip := c.RealIP()
	key := "sign-in|" + strings.ToLower(truncate(email, maxSignInEmail+1)) + "|" + ip
	try, wait, err := h.reserve(c.Request().Context(), ip, key, signInBudget)
	if err != nil {
		return h.pageError(c, err)
	}
	if wait > 0 {
		c.Response().Header().Set("Retry-After", itoa(wait))
		return h.showSignIn(c, http.StatusTooManyRequests, returnTo, email,
			"Too many failed sign-ins. Wait a minute and try again.")
	}
	u, ok, err := h.pages.passwords.check(c.Request().Context(), h.d.Accounts, email, form.Get("password"))
	if err != nil {
		return h.pageError(c, err)
	}
	if !ok {
		h.d.Metrics.AuthFailed(metrics.AuthSignIn)
		return h.showSignIn(c, http.StatusUnauthorized, returnTo, email, msgWrongCredentials)
	}
	if err := try.succeeded(c.Request().Context()); err != nil {
		return h.pageError(c, err)
	}
	if err := h.startSession(c, u.ID); err != nil {
		return h.pageError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, returnTo)
}

// msgWrongCredentials is the one answer to an unknown email and a wrong
// password alike.
const msgWrongCredentials = "The email or password is not correct."

// SignOut is POST /oauth/sign-out.
func (h *Handler) SignOut(c echo.Context) error {
	form, err := pageForm(c)
	if err != nil {
		return h.pageError(c, err)
	}
	// Signing out needs only the cookie, not the user behind it.
	s, ok := h.session(c)
	if ok && !h.csrfValid(form.Get("csrf"), sessionCSRFID(s), purposeSignOut) {
		return h.csrfFailed(c)
	}
	if ok { // the session ends on every instance, not just in this browser
		if err := h.d.Accounts.EndSession(c.Request().Context(), s.ID[:]); err != nil {
			return h.pageError(c, err)
		}
	}
	h.setCookie(c, h.sessionCookieName(), "", -1)
	return c.Redirect(http.StatusSeeOther, safeReturnTo(form.Get("return_to")))
}

// defaultReturnTo is where a sign-in goes when it has nowhere better.
const defaultReturnTo = "/oauth/sign-in"

// safeReturnTo accepts only a path on this server ("/device?..."), never
// another origin ("//evil.example", "https://...", "/\evil.example"), so
// the sign-in form cannot be made an open redirect.
func safeReturnTo(s string) string {
	if s == "" || len(s) > 8192 || s[0] != '/' || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\") || !plainText(s) {
		return defaultReturnTo
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return defaultReturnTo
		}
	}
	return s
}
