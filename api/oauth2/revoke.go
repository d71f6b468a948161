package oauth2

import (
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/jsonw"
)

// Revoke is POST /oauth/revoke (RFC 7009). It answers 200 whether or not
// the token was known, so it cannot be used to probe for tokens; a token of
// another client is left alone.
func (h *Handler) Revoke(c echo.Context) error {
	if err := h.revoke(c); err != nil {
		return h.writeOAuthError(c, err)
	}
	noStore(c)
	return c.NoContent(http.StatusOK)
}

func (h *Handler) revoke(c echo.Context) error {
	form, client, err := h.clientRequest(c)
	if err != nil {
		return err
	}
	token := form.Get("token")
	if token == "" {
		return errInvalidRequest("token is required")
	}
	hint := form.Get("token_type_hint")
	if hint != "" && hint != "access_token" && hint != "refresh_token" {
		return &oauthError{status: http.StatusBadRequest, Code: "unsupported_token_type", Description: "token_type_hint must be access_token or refresh_token"}
	}
	ctx := c.Request().Context()
	gc := toGrantClient(client)
	if strings.Count(token, ".") == 2 {
		claims, err := h.d.Tokens.ParseAccessToken(ctx, token, h.d.Issuer)
		if err != nil || claims.ClientID != client.ClientID {
			return nil
		}
		return h.d.Grants.RevokeAccessToken(ctx, claims)
	}
	_, err = h.d.Grants.RevokeRefreshToken(ctx, gc, token)
	return err
}

// Introspect is POST /oauth/introspect (RFC 7662). A confidential client
// may introspect the access tokens of its own tenant; any other token, and
// any token no longer good, reads {"active": false}.
func (h *Handler) Introspect(c echo.Context) error {
	resp, err := h.introspect(c)
	if err != nil {
		return h.writeOAuthError(c, err)
	}
	noStore(c)
	return blobJSON(c, resp.appendJSON)
}

// answerBuffers hold hand-written JSON answers until they are written:
// Blob copies them into the response, so they are reused at once.
var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// blobJSON answers 200 with the JSON that appendJSON writes, in a reused
// buffer.
func blobJSON(c echo.Context, appendJSON func([]byte) []byte) error {
	bp := answerBuffers.Get().(*[]byte)
	b := appendJSON((*bp)[:0])
	err := c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
	if cap(b) <= 64<<10 {
		*bp = b
		answerBuffers.Put(bp)
	}
	return err
}

// introspection is the RFC 7662 §2.2 answer. Its tags say the JSON it is
// (encoding/json writes the same members); appendJSON writes it without
// reflection, introspection being answered thousands of times a second.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	TenantID  string   `json:"tid,omitempty"`
}

// appendJSON writes the answer as encoding/json writes it: the members in
// the struct's order, the empty ones left out.
func (in *introspection) appendJSON(dst []byte) []byte {
	o := jsonw.Open(dst)
	o.Bool("active", in.Active)
	if in.Scope != "" {
		o.String("scope", in.Scope)
	}
	if in.ClientID != "" {
		o.String("client_id", in.ClientID)
	}
	if in.Sub != "" {
		o.String("sub", in.Sub)
	}
	if in.Exp != 0 {
		o.Int("exp", in.Exp)
	}
	if in.Iat != 0 {
		o.Int("iat", in.Iat)
	}
	if in.Iss != "" {
		o.String("iss", in.Iss)
	}
	if len(in.Aud) > 0 {
		o.Strings("aud", in.Aud)
	}
	if in.JTI != "" {
		o.String("jti", in.JTI)
	}
	if in.TokenType != "" {
		o.String("token_type", in.TokenType)
	}
	if in.TenantID != "" {
		o.String("tid", in.TenantID)
	}
	return o.Close()
}

func (h *Handler) introspect(c echo.Context) (*introspection, error) {
	form, client, err := h.clientRequest(c)
	if err != nil {
		return nil, err
	}
	if client.Public() {
		return nil, errUnauthorizedClient("only confidential clients may introspect tokens")
	}
	token := form.Get("token")
	if token == "" {
		return nil, errInvalidRequest("token is required")
	}
	ctx := c.Request().Context()
	claims, err := h.d.Tokens.ParseAccessToken(ctx, token, h.d.Issuer)
	if err != nil || claims.TenantID != client.TenantID.String() {
		return &introspection{Active: false}, nil
	}
	if _, err := h.d.Grants.Check(ctx, claims); err != nil {
		if errors.Is(err, authserver.ErrRevoked) {
			return &introspection{Active: false}, nil
		}
		return nil, err
	}
	return &introspection{Active: true, Scope: claims.Scope, ClientID: claims.ClientID, Sub: claims.Subject,
		Exp: claims.Expiry, Iat: claims.IssuedAt, Iss: claims.Issuer, Aud: claims.Audience, JTI: claims.JTI,
		TokenType: "Bearer", TenantID: claims.TenantID}, nil
}

// DeviceAuthorization is POST /oauth/device_authorization (RFC 8628 §3.1).
func (h *Handler) DeviceAuthorization(c echo.Context) error {
	resp, err := h.deviceAuthorization(c)
	if err != nil {
		return h.writeOAuthError(c, err)
	}
	noStore(c)
	return c.JSON(http.StatusOK, resp)
}

type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

func (h *Handler) deviceAuthorization(c echo.Context) (*deviceAuthorizationResponse, error) {
	form, client, err := h.clientRequest(c)
	if err != nil {
		return nil, err
	}
	if !client.Allows(apiclients.GrantDeviceCode) {
		return nil, errUnauthorizedClient("this client may not use the device flow")
	}
	scopes, err := h.userScope(client, splitScope(form.Get("scope")))
	if err != nil {
		return nil, err
	}
	start, err := h.d.Grants.StartDevice(c.Request().Context(), toGrantClient(client), scopes)
	if err != nil {
		return nil, err
	}
	verify := h.d.Issuer + "/device"
	return &deviceAuthorizationResponse{DeviceCode: start.DeviceCode, UserCode: start.UserCode,
		VerificationURI: verify, VerificationURIComplete: verify + "?user_code=" + start.UserCode,
		ExpiresIn: start.ExpiresIn, Interval: start.Interval}, nil
}
