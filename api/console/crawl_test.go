package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/oauthd/oauthd/api/apitest"
)

// site is a tenant with one of everything, and its secrets.
type site struct {
	e       *apitest.Env
	tid     string
	secrets []string // every secret and key made, none of which a page may show
}

func newSite(t *testing.T) *site {
	t.Helper()
	e := apitest.New(t, apitest.WithOutboundAllowPrivate()) // the webhook delivers to a receiver on loopback
	s := &site{e: e, tid: newTenant(t, e)}
	crm := newOAuthComponent(t, e, s.tid, "crm")
	newOAuthComponent(t, e, s.tid, "spare")
	newOAuthClient(t, e, s.tid, crm, "crm-app", "stored-oauth-secret-0001")
	newFlow(t, e, s.tid, "sync", crm)
	ac := e.Post("/v2/tenants/"+s.tid+"/api-clients", &e.Super, doc("api-client", map[string]any{"name": "bot",
		"client_type": "confidential", "grant_types": []string{"client_credentials"}, "roles": []string{"viewer"}}, nil)).
		ExpectStatus(t, http.StatusCreated)
	sec, _ := ac.Attr(t, "client_secret").(string)
	// A webhook delivering to a receiver on loopback, with a rotated
	// secret (two live ones), so its pages and forms are crawled too.
	hook := e.Post("/v2/tenants/"+s.tid+"/webhooks", &e.Super, doc("webhook", map[string]any{"url": apitest.NewReceiver(t).URL(),
		"events": []string{"*"}}, nil)).ExpectStatus(t, http.StatusCreated)
	hookSecret, _ := hook.Attr(t, "secret").(string)
	rotated := e.Post("/v2/tenants/"+s.tid+"/webhooks/"+hook.ID(t)+"/secrets", &e.Super, doc("webhook-secret", map[string]any{}, nil)).
		ExpectStatus(t, http.StatusCreated)
	rotatedSecret, _ := rotated.Attr(t, "secret").(string)
	s.secrets = append(s.secrets, "stored-oauth-secret-0001", sec, hookSecret, rotatedSecret)
	return s
}

// crawled is what a member saw following every console link.
type crawled struct {
	pages map[string]*page
	forms map[string]*goquery.Selection // action -> one form posting there, with its page
	from  map[string]*page
}

// crawl follows every /console link from start (GET only).
func crawl(t *testing.T, b *browser, start string) *crawled {
	t.Helper()
	c := &crawled{pages: map[string]*page{}, forms: map[string]*goquery.Selection{}, from: map[string]*page{}}
	queue := []string{start}
	for len(queue) > 0 && len(c.pages) < 200 {
		path := queue[0]
		queue = queue[1:]
		if _, seen := c.pages[path]; seen {
			continue
		}
		pg := b.get(path)
		c.pages[path] = pg
		pg.Doc.Find("a[href]").Each(func(_ int, a *goquery.Selection) {
			u, err := pg.URL.Parse(a.AttrOr("href", ""))
			if err != nil || u.Host != pg.URL.Host || !strings.HasPrefix(u.Path, "/console") || strings.HasPrefix(u.Path, "/console/static/") {
				return
			}
			u.RawQuery = stripDone(u.Query())
			queue = append(queue, u.RequestURI())
		})
		pg.Doc.Find("form[method=post]").Each(func(_ int, f *goquery.Selection) {
			action := f.AttrOr("action", "")
			if strings.HasPrefix(action, "/console") {
				if _, ok := c.forms[action]; !ok {
					c.forms[action], c.from[action] = f, pg
				}
			}
		})
	}
	return c
}

func stripDone(q url.Values) string {
	q.Del("done")
	return q.Encode()
}

// A member sees only the buttons and links they may use: for each role,
// every console link they are shown answers 200 and every form they are
// shown is accepted by its permission (never 403). The forms are posted
// as shown, so each may change the site; none may answer 403.
func TestNoButtonAnswers403(t *testing.T) {
	for _, tc := range []struct {
		role  string
		perms []string
	}{
		{"viewer", nil}, {"developer", nil}, {"platform", nil}, {"admin", nil}, {"owner", nil},
		{"", []string{"tenants.oauth_clients.get", "tenants.audit.get"}},
		{"", []string{"tenants.webhooks.get"}},
		{"", []string{"tenants.webhooks.get", "tenants.webhooks.edit"}},
		{"", nil},
	} {
		name := tc.role
		if name == "" {
			name = "permissions " + strings.Join(tc.perms, ",")
		}
		t.Run(name, func(t *testing.T) {
			s := newSite(t)
			var roles []string
			if tc.role != "" {
				roles = []string{tc.role}
			}
			b := newBrowser(t, s.e)
			b.signIn(newMember(t, s.e, s.tid, roles, tc.perms))
			c := crawl(t, b, "/console/tenants/"+s.tid)
			for path, pg := range c.pages {
				if pg.Status != http.StatusOK {
					t.Errorf("link %s answers %d", path, pg.Status)
				}
			}
			actions := make([]string, 0, len(c.forms))
			for a := range c.forms {
				actions = append(actions, a)
			}
			slices.Sort(actions)
			for _, action := range actions {
				pg := c.from[action]
				got := b.submitForm(pg, c.forms[action], nil)
				if got.Status == http.StatusForbidden {
					t.Errorf("the form posting to %s (on %s) answers 403:\n%s", action, pg.URL.Path, got.text())
				}
			}
			t.Logf("%d pages, %d forms", len(c.pages), len(c.forms))
		})
	}
}

// No page ever shows a stored secret or the secret of an API client made
// elsewhere: the owner follows every link of the console.
func TestNoPageShowsASecret(t *testing.T) {
	s := newSite(t)
	owner := newMember(t, s.e, s.tid, []string{"owner"}, nil)
	b := newBrowser(t, s.e)
	b.signIn(owner)
	s.secrets = append(s.secrets, owner.Key)
	c := crawl(t, b, "/console")
	if len(c.pages) < 20 {
		t.Fatalf("only %d pages crawled", len(c.pages))
	}
	for path, pg := range c.pages {
		for _, secret := range s.secrets {
			if strings.Contains(string(pg.Body), secret) {
				t.Errorf("%s contains a secret", path)
			}
		}
	}
}
