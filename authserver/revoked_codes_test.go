package authserver_test

import (
	"context"
	"errors"
	"testing"

	"github.com/oauthd/oauthd/authserver"
)

// A code or device approval issued before the client's revoke-tokens is
// revoked with the tokens: redeeming it afterwards must not mint new ones.
func TestCodesIssuedBeforeRevokeTokensFail(t *testing.T) {
	g := newGrantsEnv(t)
	c := g.client(t)
	ctx := context.Background()
	user := g.member(t)
	code, err := g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: user, RedirectURI: "https://a.test/cb",
		CodeChallenge: pkce(verifier)})
	if err != nil {
		t.Fatal(err)
	}
	start, err := g.grants.StartDevice(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.grants.DecideDevice(ctx, start.UserCode, user, true); err != nil {
		t.Fatal(err)
	}
	exec(t, g.in.db, `UPDATE api_clients SET tokens_valid_after = clock_timestamp() WHERE id = $1`, c.PK)

	if _, err := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", verifier, true); !errors.Is(err, authserver.ErrInvalidGrant) {
		t.Errorf("code from before revoke-tokens: err %v, want invalid_grant", err)
	}
	if _, err := g.grants.PollDevice(ctx, c, start.DeviceCode, true); !errors.Is(err, authserver.ErrInvalidGrant) {
		t.Errorf("device approval from before revoke-tokens: err %v, want invalid_grant", err)
	}

	// Codes issued afterwards work.
	code, err = g.grants.CreateCode(ctx, c, authserver.CodeRequest{UserID: user, RedirectURI: "https://a.test/cb",
		CodeChallenge: pkce(verifier)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.grants.RedeemCode(ctx, c, code, "https://a.test/cb", verifier, true); err != nil {
		t.Errorf("code from after revoke-tokens: %v", err)
	}
}
