package oauth2

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/tenants"
)

// PathDevice is the page where a signed-in user enters a device's code
// (RFC 8628 §3.3, the verification_uri).
const PathDevice = "/device"

const msgUnknownUserCode = "That code is not valid or has expired. Check the code your device shows and try again."

const msgTooManyUserCodes = "Too many codes that were not valid. Wait a minute and try again."

func deviceReturnTo(userCode string) string {
	if userCode == "" {
		return PathDevice
	}
	return PathDevice + "?" + url.Values{"user_code": {userCode}}.Encode()
}

// DevicePage is GET /device: the code form, prefilled from
// verification_uri_complete's user_code.
func (h *Handler) DevicePage(c echo.Context) error {
	typed := c.QueryParam("user_code")
	if !plainText(typed) || len(typed) > 32 {
		typed = ""
	}
	s, u, ok, err := h.signedIn(c)
	if err != nil {
		return h.pageError(c, err)
	}
	if !ok {
		return h.showSignIn(c, http.StatusOK, deviceReturnTo(typed), "", "")
	}
	return h.showDeviceForm(c, http.StatusOK, s, u, typed, "")
}

func (h *Handler) showDeviceForm(c echo.Context, status int, s session, u *tenants.User, typed, problem string) error {
	return h.render(c, status, "device.html", devicePage{
		basePage: basePage{Title: "Connect a device", Email: u.Email},
		CSRF:     h.csrfToken(sessionCSRFID(s), purposeDevice),
		UserCode: typed, Problem: problem, SignOut: h.signOutForm(s, PathDevice),
	})
}

// deviceVisit is a checked post to one of the device pages.
type deviceVisit struct {
	form url.Values
	s    session
	u    *tenants.User
	req  *authserver.DeviceRequest
}

// deviceStep is what both device posts share: the form, the session
// (else the sign-in page), the CSRF check, the pending request (else the
// code form with an error) and the membership check. A nil
// visit means a page has been answered already; err is that answer's.
func (h *Handler) deviceStep(c echo.Context, purpose string) (*deviceVisit, error) {
	form, err := pageForm(c)
	if err != nil {
		return nil, h.pageError(c, err)
	}
	typed := form.Get("user_code")
	s, u, ok, err := h.signedIn(c)
	if err != nil {
		return nil, h.pageError(c, err)
	}
	if !ok {
		return nil, h.showSignIn(c, http.StatusUnauthorized, deviceReturnTo(printable(typed)), "", "Your session has ended. Sign in again.")
	}
	if !h.csrfValid(form.Get("csrf"), sessionCSRFID(s), purpose) {
		return nil, h.csrfFailed(c)
	}
	ctx := c.Request().Context()
	try, wait, err := h.reserve(ctx, c.RealIP(), "device-user|"+u.ID.String(), deviceUserBudget)
	if err != nil {
		return nil, h.pageError(c, err)
	}
	if wait > 0 {
		c.Response().Header().Set("Retry-After", itoa(wait))
		return nil, h.showDeviceForm(c, http.StatusTooManyRequests, s, u, printable(typed), msgTooManyUserCodes)
	}
	req, err := h.d.Grants.LookupUserCode(ctx, typed)
	if errors.Is(err, authserver.ErrUnknownUserCode) {
		return nil, h.showDeviceForm(c, http.StatusBadRequest, s, u, printable(typed), msgUnknownUserCode)
	}
	if err != nil {
		return nil, h.pageError(c, err)
	}
	if err := try.succeeded(ctx); err != nil {
		return nil, h.pageError(c, err)
	}
	if ok, err := h.requireMember(c, s, u, req.TenantID, PathDevice); !ok {
		return nil, err
	}
	return &deviceVisit{form: form, s: s, u: u, req: req}, nil
}

// DeviceCode is POST /device: the code was entered; ask for consent.
func (h *Handler) DeviceCode(c echo.Context) error {
	v, err := h.deviceStep(c, purposeDevice)
	if v == nil {
		return err
	}
	s, u, req := v.s, v.u, v.req
	ctx := c.Request().Context()
	client, err := h.d.ClientsByPK.Get(ctx, req.TenantID, req.ClientPK)
	if errors.Is(err, apiclients.ErrNotFound) { // deleted since the code was issued
		return h.showDeviceForm(c, http.StatusBadRequest, s, u, printable(v.form.Get("user_code")), msgUnknownUserCode)
	}
	if err != nil {
		return h.pageError(c, err)
	}
	tenant, err := h.tenantName(ctx, req.TenantID)
	if err != nil {
		return h.pageError(c, err)
	}
	granted, withheld, ok, err := h.consentWords(c, s, u, req.TenantID, req.Scopes, PathDevice)
	if !ok {
		return err
	}
	return h.render(c, http.StatusOK, "consent.html", consentPage{
		basePage:   basePage{Title: "Authorize " + client.Name, Email: u.Email},
		Action:     PathDevice + "/decision",
		ClientName: client.Name, TenantName: tenant,
		Scopes: granted, Withheld: withheld,
		CSRF:   h.csrfToken(sessionCSRFID(s), purposeDeviceDecision),
		Hidden: []hiddenField{{"user_code", authserver.FormatUserCode(req.UserCode)}},
		Device: authserver.FormatUserCode(req.UserCode), SignOut: h.signOutForm(s, PathDevice),
	})
}

// DeviceDecision is POST /device/decision: approve or deny the device.
func (h *Handler) DeviceDecision(c echo.Context) error {
	v, err := h.deviceStep(c, purposeDeviceDecision)
	if v == nil {
		return err
	}
	form, s, u, req := v.form, v.s, v.u, v.req
	var approve bool
	switch form.Get("decision") {
	case "approve":
		approve = true
	case "deny":
	default:
		return h.renderError(c, http.StatusBadRequest, "Invalid answer", "Choose Approve or Deny.")
	}
	err = h.d.Grants.DecideDevice(c.Request().Context(), req.UserCode, u.ID, approve)
	if errors.Is(err, authserver.ErrUnknownUserCode) {
		return h.showDeviceForm(c, http.StatusBadRequest, s, u, "", msgUnknownUserCode)
	}
	if err != nil {
		return h.consentRefused(c, s, u, err, PathDevice)
	}
	title := "Device connected"
	if !approve {
		title = "Request denied"
	}
	return h.render(c, http.StatusOK, "device_done.html", deviceDonePage{
		basePage: basePage{Title: title, Email: u.Email}, Approved: approve,
	})
}
