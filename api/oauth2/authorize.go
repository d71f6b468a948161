package oauth2

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/authserver"
)

// authzRequest is a checked authorization request (RFC 6749 §4.1.1).
type authzRequest struct {
	client *apiclients.Client
	// redirectURI is the redirect URI as the request gave it ("" when it
	// gave none): the code is bound to it, and the token request repeats it.
	redirectURI string
	// target is where answers go: redirectURI, or the client's only one.
	target    string
	state     string
	hasState  bool
	requested []string // the scopes the request named
	scopes    []string // what the token will carry
	challenge string
}

// pageProblem is an authorization request that must not be answered by a
// redirect: the client or redirect URI cannot be trusted, so the user gets
// an error page instead (no open redirect).
type pageProblem struct{ message string }

// redirectProblem is an authorization error sent back to the client
// (RFC 6749 §4.1.2.1).
type redirectProblem struct{ code, description string }

// parseAuthorize checks an authorization request, from the query of GET
// or the consent form's POST. The client and redirect URI come first:
// until both are known good, nothing is redirected anywhere.
func (h *Handler) parseAuthorize(c echo.Context, p url.Values) (*authzRequest, *pageProblem, *redirectProblem, error) {
	for _, k := range []string{"client_id", "redirect_uri", "redirect_url"} {
		if len(p[k]) > 1 {
			return nil, &pageProblem{"The request gives " + k + " more than once."}, nil, nil
		}
	}
	clientID := p.Get("client_id")
	if clientID == "" {
		return nil, &pageProblem{"The request does not say which application is asking (client_id is missing)."}, nil, nil
	}
	client, err := h.d.Clients.ByClientID(c.Request().Context(), clientID)
	if errors.Is(err, apiclients.ErrNotFound) {
		return nil, &pageProblem{"The application that sent you here is not registered (unknown client_id)."}, nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	r := &authzRequest{client: client}
	ru, rl := p.Get("redirect_uri"), p.Get("redirect_url") // Cloud 66 spells it redirect_url
	if ru != "" && rl != "" && ru != rl {
		return nil, &pageProblem{"The request gives two different redirect URIs (redirect_uri and redirect_url)."}, nil, nil
	}
	r.redirectURI = ru + rl
	if ru != "" && rl != "" {
		r.redirectURI = ru
	}
	switch {
	case r.redirectURI == "" && len(client.RedirectURIs) == 1:
		r.target = client.RedirectURIs[0]
	case r.redirectURI == "":
		return nil, &pageProblem{"The request has no redirect_uri, and the application has registered several (or none), so it must name one."}, nil, nil
	case !client.RedirectURIAllowed(r.redirectURI):
		return nil, &pageProblem{"The redirect URI in the request is not one the application registered, so you will not be sent there."}, nil, nil
	default:
		r.target = r.redirectURI
	}
	// From here on, errors go back to the client.
	r.hasState = p.Has("state")
	r.state = p.Get("state")
	// The form endpoints' rule (readForm) for the query as well.
	if problem := paramProblem(p); problem != "" {
		return r, nil, &redirectProblem{"invalid_request", problem}, nil
	}
	switch rt := p.Get("response_type"); rt {
	case "code":
	case "":
		return r, nil, &redirectProblem{"invalid_request", "response_type is required"}, nil
	default:
		return r, nil, &redirectProblem{"unsupported_response_type", "only response_type=code is supported"}, nil
	}
	if !client.Allows(apiclients.GrantAuthorizationCode) {
		return r, nil, &redirectProblem{"unauthorized_client", "this client may not use the authorization code grant"}, nil
	}
	if rp := checkPKCE(client, p.Get("code_challenge"), p.Get("code_challenge_method"), p.Has("code_challenge_method")); rp != nil {
		return r, nil, rp, nil
	}
	r.challenge = p.Get("code_challenge")
	r.requested = splitScope(p.Get("scope"))
	r.scopes, err = h.userScope(client, r.requested)
	var oe *oauthError
	if errors.As(err, &oe) {
		return r, nil, &redirectProblem{oe.Code, oe.Description}, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return r, nil, nil, nil
}

// checkPKCE applies RFC 7636 as oauthd profiles it: S256 only (plain, also
// the default when the method is left out, is refused), and required for
// public clients and clients that set require_pkce.
func checkPKCE(c *apiclients.Client, challenge, method string, hasMethod bool) *redirectProblem {
	if challenge == "" {
		if hasMethod {
			return &redirectProblem{"invalid_request", "code_challenge_method without code_challenge"}
		}
		if c.PKCERequired() {
			return &redirectProblem{"invalid_request", "this client must use PKCE: send code_challenge and code_challenge_method=S256"}
		}
		return nil
	}
	if method != "S256" {
		return &redirectProblem{"invalid_request", "code_challenge_method must be S256 (plain is not supported)"}
	}
	if !validChallenge(challenge) {
		return &redirectProblem{"invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the verifier"}
	}
	return nil
}

// base64URLAlphabet is RFC 4648 §5's, which PKCE challenges use.
const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune(base64URLAlphabet, r) {
			return false
		}
	}
	return true
}

// redirectBack sends an answer to the client's redirect URI, keeping any
// query the registered URI has.
func (r *authzRequest) redirectBack(c echo.Context, params url.Values) error {
	u, err := url.Parse(r.target)
	if err != nil {
		return err
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if r.hasState {
		q.Set("state", r.state)
	}
	u.RawQuery = q.Encode()
	pageHeaders(c, "")
	return c.Redirect(http.StatusFound, u.String())
}

func (r *authzRequest) redirectError(c echo.Context, p *redirectProblem) error {
	return r.redirectBack(c, url.Values{"error": {p.code}, "error_description": {p.description}})
}

// hidden are the authorization parameters the consent form posts back.
func (r *authzRequest) hidden() []hiddenField {
	f := []hiddenField{{"response_type", "code"}, {"client_id", r.client.ClientID}}
	if r.redirectURI != "" {
		f = append(f, hiddenField{"redirect_uri", r.redirectURI})
	}
	if len(r.requested) > 0 {
		f = append(f, hiddenField{"scope", strings.Join(r.requested, " ")})
	}
	if r.hasState {
		f = append(f, hiddenField{"state", r.state})
	}
	if r.challenge != "" {
		f = append(f, hiddenField{"code_challenge", r.challenge}, hiddenField{"code_challenge_method", "S256"})
	}
	return f
}

// returnTo is the GET /oauth/authorize URL that shows this request again.
func (r *authzRequest) returnTo() string {
	v := url.Values{}
	for _, f := range r.hidden() {
		v.Set(f.Name, f.Value)
	}
	return PathAuthorize + "?" + v.Encode()
}

// authorizeRequest parses and checks an authorization request. A nil
// request means it has been answered already (an error page, or a
// redirect back to the client with an error); err is that answer's.
func (h *Handler) authorizeRequest(c echo.Context, params url.Values) (*authzRequest, error) {
	r, pp, rp, err := h.parseAuthorize(c, params)
	switch {
	case err != nil:
		return nil, h.pageError(c, err)
	case pp != nil:
		return nil, h.renderError(c, http.StatusBadRequest, "Invalid authorization request", pp.message)
	case rp != nil:
		return nil, r.redirectError(c, rp)
	}
	return r, nil
}

// Authorize is GET /oauth/authorize: the sign-in page when nobody is
// signed in, the consent page for a member of the client's tenant, and
// the not-a-member page (403, nothing redirected) for anyone else.
func (h *Handler) Authorize(c echo.Context) error {
	r, err := h.authorizeRequest(c, c.QueryParams())
	if r == nil {
		return err
	}
	s, u, ok, err := h.signedIn(c)
	if err != nil {
		return h.pageError(c, err)
	}
	if !ok {
		return h.showSignIn(c, http.StatusOK, r.returnTo(), "", "")
	}
	ctx := c.Request().Context()
	if ok, err := h.requireMember(c, s, u, r.client.TenantID, r.returnTo()); !ok {
		return err
	}
	tenant, err := h.tenantName(ctx, r.client.TenantID)
	if err != nil {
		return h.pageError(c, err)
	}
	granted, withheld, ok, err := h.consentWords(c, s, u, r.client.TenantID, r.scopes, r.returnTo())
	if !ok {
		return err
	}
	return h.renderWith(c, http.StatusOK, "consent.html", consentPage{
		basePage:   basePage{Title: "Authorize " + r.client.Name, Email: u.Email},
		Action:     PathAuthorize,
		ClientName: r.client.Name, TenantName: tenant,
		Scopes: granted, Withheld: withheld,
		CSRF:   h.csrfToken(sessionCSRFID(s), purposeAuthorize),
		Hidden: r.hidden(), SignOut: h.signOutForm(s, r.returnTo()),
	}, formActionSource(r.target))
}

// AuthorizeDecision is POST /oauth/authorize: the consent form's answer.
func (h *Handler) AuthorizeDecision(c echo.Context) error {
	form, err := pageForm(c)
	if err != nil {
		return h.pageError(c, err)
	}
	decision := form.Get("decision")
	params := url.Values{}
	for k, vs := range form {
		if k != "csrf" && k != "decision" {
			params[k] = vs
		}
	}
	s, u, ok, err := h.signedIn(c)
	if err != nil {
		return h.pageError(c, err)
	}
	if !ok {
		// The session ended while the consent page was open: sign in again
		// and see the request afresh.
		return h.showSignIn(c, http.StatusUnauthorized, PathAuthorize+"?"+params.Encode(), "", "Your session has ended. Sign in again.")
	}
	if !h.csrfValid(form.Get("csrf"), sessionCSRFID(s), purposeAuthorize) {
		return h.csrfFailed(c)
	}
	r, err := h.authorizeRequest(c, params)
	if r == nil {
		return err
	}
	ctx := c.Request().Context()
	if ok, err := h.requireMember(c, s, u, r.client.TenantID, r.returnTo()); !ok {
		return err
	}
	switch decision {
	case "deny":
		return r.redirectError(c, &redirectProblem{"access_denied", "the user denied the request"})
	case "approve":
	default:
		return h.renderError(c, http.StatusBadRequest, "Invalid answer", "Choose Approve or Deny.")
	}
	code, err := h.d.Grants.CreateCode(ctx, toGrantClient(r.client), authserver.CodeRequest{
		UserID: u.ID, RedirectURI: r.redirectURI, Scopes: r.scopes, CodeChallenge: r.challenge,
	})
	if err != nil {
		return h.consentRefused(c, s, u, err, r.returnTo())
	}
	return r.redirectBack(c, url.Values{"code": {code}})
}
