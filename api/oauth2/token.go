package oauth2

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/jsonw"
)

// tokenResponse is RFC 6749 §5.1 plus Encore's actor (the client id).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Actor        string `json:"actor"`
}

// Token is POST /oauth/token.
func (h *Handler) Token(c echo.Context) error {
	if err := h.token(c); err != nil {
		return h.writeOAuthError(c, err)
	}
	return nil
}

func (h *Handler) token(c echo.Context) error {
	form, err := readForm(c.Request())
	if err != nil {
		return err
	}
	grantType := form.Get("grant_type")
	if grantType == "" {
		return errInvalidRequest("grant_type is required")
	}
	if !apiclients.IsGrantType(grantType) {
		return errUnsupportedGrantType("grant_type " + printable(grantType) + " is not supported")
	}
	client, err := h.authenticateClient(c, form)
	if err != nil {
		return err
	}
	if !client.Allows(grantType) {
		return errUnauthorizedClient("this client may not use grant_type " + grantType)
	}
	gc := toGrantClient(client)
	ctx := c.Request().Context()
	var ts *authserver.TokenSet
	switch grantType {
	case apiclients.GrantClientCredentials:
		scopes, err := h.clientCredentialsScope(client, splitScope(form.Get("scope")))
		if err != nil {
			return err
		}
		ts, err = h.d.Grants.IssueClientCredentials(gc, scopes)
		if err != nil {
			return err
		}
	case apiclients.GrantAuthorizationCode:
		code := form.Get("code")
		if code == "" {
			return errInvalidRequest("code is required")
		}
		redirect := form.Get("redirect_uri")
		if redirect == "" {
			redirect = form.Get("redirect_url") // Cloud 66's spelling
		}
		verifier := form.Get("code_verifier")
		if client.PKCERequired() && verifier == "" {
			return errInvalidRequest("code_verifier is required for this client (PKCE)")
		}
		ts, err = h.d.Grants.RedeemCode(ctx, gc, code, redirect, verifier, client.Allows(apiclients.GrantRefreshToken))
	case apiclients.GrantRefreshToken:
		rt := form.Get("refresh_token")
		if rt == "" {
			return errInvalidRequest("refresh_token is required")
		}
		ts, err = h.d.Grants.Refresh(ctx, gc, rt, splitScope(form.Get("scope")))
	case apiclients.GrantDeviceCode:
		dc := form.Get("device_code")
		if dc == "" {
			return errInvalidRequest("device_code is required")
		}
		ts, err = h.d.Grants.PollDevice(ctx, gc, dc, client.Allows(apiclients.GrantRefreshToken))
	default: // a grant type of apiclients.GrantTypes without its exchange here
		return errUnsupportedGrantType("grant_type " + printable(grantType) + " is not supported")
	}
	if err != nil {
		return err // the grant layer's outcomes become RFC errors in writeOAuthError
	}
	h.d.Metrics.TokenIssued(grantType)
	return writeToken(c, ts, client.ClientID)
}

func writeToken(c echo.Context, ts *authserver.TokenSet, actor string) error {
	noStore(c)
	resp := tokenResponse{AccessToken: ts.AccessToken, TokenType: "Bearer", ExpiresIn: ts.ExpiresIn,
		Scope: ts.Scope, RefreshToken: ts.RefreshToken, Actor: actor}
	if wantsForm(c.Request()) {
		v := url.Values{"access_token": {resp.AccessToken}, "token_type": {resp.TokenType},
			"expires_in": {strconv.Itoa(resp.ExpiresIn)}, "scope": {resp.Scope}, "actor": {actor}}
		if resp.RefreshToken != "" {
			v.Set("refresh_token", resp.RefreshToken)
		}
		return c.Blob(http.StatusOK, "application/x-www-form-urlencoded", []byte(v.Encode()))
	}
	return blobJSON(c, resp.appendJSON)
}

// appendJSON writes the answer as encoding/json writes tokenResponse (the
// token endpoint answers thousands of times a second).
func (r *tokenResponse) appendJSON(dst []byte) []byte {
	o := jsonw.Open(dst)
	o.String("access_token", r.AccessToken)
	o.String("token_type", r.TokenType)
	o.Int("expires_in", int64(r.ExpiresIn))
	o.String("scope", r.Scope)
	if r.RefreshToken != "" {
		o.String("refresh_token", r.RefreshToken)
	}
	o.String("actor", r.Actor)
	return o.Close()
}
