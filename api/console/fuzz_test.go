package console_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// FuzzConsoleForms posts arbitrary form bodies, with a valid token, to
// the console's actions that read fields: whatever arrives, the answer is
// a page (a refusal names the field), never a server error.
func FuzzConsoleForms(f *testing.F) {
	// No job workers: a fuzzed webhook URL that names a public address
	// must never be called; and no resolver: host names resolve to nothing.
	e := apitest.New(f, apitest.WithoutJobWorkers(), apitest.WithOutboundLookup(func(context.Context, string) ([]net.IP, error) {
		return nil, errors.New("no resolver in this test")
	}))
	tid := newTenant(f, e)
	owner := newMember(f, e, tid, []string{"owner"}, nil)
	comp := newOAuthComponent(f, e, tid, "crm")
	oc := newOAuthClient(f, e, tid, comp, "crm-app", "crm-secret-0001")
	hook := e.Post("/v2/tenants/"+tid+"/webhooks", &e.Super, doc("webhook", map[string]any{"url": "https://192.0.2.10/hooks",
		"events": []string{"*"}, "active": false}, nil)).ExpectStatus(f, http.StatusCreated).ID(f)
	b := newBrowser(f, e)
	b.signIn(owner)
	csrf := b.get("/console/account").Doc.Find("form#create-api-key input[name=csrf]").AttrOr("value", "")
	base := "/console/tenants/" + tid
	actions := []string{
		base + "/oauth-clients", base + "/oauth-clients/" + oc, base + "/api-clients", base + "/components",
		base + "/flows", base + "/members", base + "/connections", "/console/account/api-keys", "/console/account/password",
		base + "/webhooks", base + "/webhooks/" + hook, base + "/webhooks/" + hook + "/secrets",
	}
	f.Add(uint8(0), "client_id=a&client_secret=b&component="+comp)
	f.Add(uint8(1), "client_id=%00&component=nope")
	f.Add(uint8(2), "name=x&roles=owner&roles=viewer&template=web-app&redirect_uris=http%3A%2F%2F%5B%3A%3A1%5D%3A0%2F")
	f.Add(uint8(3), "name=c&descriptor=%7B%22oauth2%22%3A%7B%22auth_uri%22%3A1%7D%7D&visibility=global")
	f.Add(uint8(4), "name=f&components="+comp+"&components="+comp)
	f.Add(uint8(5), "email=%E2%80%AEroot%40x&permissions=tenants.*")
	f.Add(uint8(6), "name="+strings.Repeat("n", 300)+"&component="+comp)
	f.Add(uint8(8), "current_password=&password=%FF%FE&password_again=%FF%FE")
	f.Add(uint8(9), "url=https%3A%2F%2F127.0.0.1%2Fh&events=*&events=api_client.*&events=nope.*&description=%00")
	f.Add(uint8(10), "url=https%3A%2F%2Fhooks.example.test%2F&events=&events=member.created")
	f.Add(uint8(10), "url="+strings.Repeat("a", 3000)+"&description="+strings.Repeat("d", 600))
	f.Add(uint8(11), "previous_secrets_expire_in=-1")
	f.Add(uint8(11), "previous_secrets_expire_in=604800")
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return // a browser sends only well-formed forms; the server answers 400 to the rest
		}
		form.Set("csrf", csrf)
		pg := b.with(t).post(actions[int(which)%len(actions)], form)
		if pg.Status >= http.StatusInternalServerError {
			t.Fatalf("POST %s %q: %d\n%s", actions[int(which)%len(actions)], body, pg.Status, pg.text())
		}
	})
}
