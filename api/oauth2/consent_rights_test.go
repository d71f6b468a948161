package oauth2_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// A consent grants only what the user holds: an admin (no reading of
// stored secrets) approving a client that asks for everything (tenants.*)
// is told what is withheld, and the token carries the admin's rights only.
// A user who holds none of what is asked for gets a 403 page naming a
// missing permission, and no code.
func TestConsentGrantsOnlyTheUsersRights(t *testing.T) {
	w, cfg := webWorld(t, "tenants.*")
	e := w.e
	cfg.Scopes = []string{"tenants.*"}
	verifier := oauth2.GenerateVerifier()
	b := newBrowser(t, e)
	p := consent(t, b, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), w.email)
	expectStatus(t, p, http.StatusOK)
	text := p.text()
	if !strings.Contains(text, "does not hold") || !strings.Contains(text, "tenants.oauth_clients.reveal_secret") {
		t.Errorf("the consent page does not say what is withheld:\n%s", text)
	}
	q := redirected(t, b.submit(p.form(t, "/oauth/authorize"), nil, "decision", "approve"))
	tok, err := cfg.Exchange(e.OAuth2Context(context.Background()), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	scope, _ := tok.Extra("scope").(string)
	if strings.Contains(scope, "tenants.*") || strings.Contains(scope, "reveal_secret") || !strings.Contains(scope, "tenants.members.edit") {
		t.Errorf("token scope %q: want the admin's permissions, without reveal_secret", scope)
	}

	// A member who holds none of it (a platform member asking for members).
	email := "platform@acme.test"
	uid := createUser(t, e, email)
	e.Post("/v2/tenants/"+w.tenantID+"/members", &e.Super, map[string]any{"data": map[string]any{
		"type": "member", "attributes": map[string]any{"roles": []string{"platform"}, "permissions": []string{}},
		"relationships": map[string]any{"user": map[string]any{"data": map[string]any{"type": "user", "id": uid}}},
	}}).ExpectStatus(t, http.StatusCreated)
	cfg.Scopes = []string{"tenants.members.*"}
	pb := newBrowser(t, e)
	p = consent(t, pb, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), email)
	expectStatus(t, p, http.StatusForbidden)
	if !strings.Contains(p.problem(), "tenants.members.get") {
		t.Errorf("the refusal does not name the missing permission: %s", p.problem())
	}
	if n := countRows(t, e, "SELECT count(*) FROM authorization_codes WHERE user_id = $1", uid); n != 0 {
		t.Errorf("%d codes issued", n)
	}
}
