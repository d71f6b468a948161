package api_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
)

// cursorPage is one page of a list read through its links.
type cursorPage struct {
	ids   []string
	links map[string]string // "" for a null link
	meta  map[string]any
}

func getPage(t *testing.T, e *apitest.Env, path string, creds *apitest.Creds) cursorPage {
	t.Helper()
	r := e.Get(path, creds).ExpectStatus(t, http.StatusOK)
	p := cursorPage{ids: listIDs(t, r), links: map[string]string{}, meta: listMeta(t, r)}
	links, _ := r.Doc(t)["links"].(map[string]any)
	for k, v := range links {
		s, _ := v.(string)
		p.links[k] = s
	}
	return p
}

// flowList is a tenant with n flows, and the path of its flow list.
func flowList(t *testing.T, n int) (*apitest.Env, string) {
	t.Helper()
	e := apitest.New(t)
	tid := newTenant(t, e)
	for range n {
		newFlow(t, e, tid, &e.Super, "flow-"+uniq())
	}
	return e, tenantPath(tid, "/flows")
}

// walk follows links[direction] from start until it is null, calling
// between() before each next page, and returns the ids in list order.
func walk(t *testing.T, e *apitest.Env, creds *apitest.Creds, start, direction string, between func()) []string {
	t.Helper()
	var ids []string
	path := start
	for pages := 0; path != ""; pages++ {
		if pages > 100 {
			t.Fatalf("walking %s from %s does not end", direction, start)
		}
		p := getPage(t, e, path, creds)
		if direction == "next" {
			ids = append(ids, p.ids...)
		} else {
			ids = append(slices.Clone(p.ids), ids...)
		}
		path = p.links[direction]
		if path != "" && between != nil {
			between()
		}
	}
	return ids
}

// Walking a list by its cursor links while rows are added and deleted
// yields every row that existed throughout exactly once, in order: forward
// from the first page with next, backward from the last with prev, in every
// order the list offers (names repeat, so the tiebreaker decides).
func TestCursorWalkSeesEveryLastingRowOnce(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	names := []string{"alpha", "beta", "gamma", "delta"}
	made := 0
	newOne := func() string {
		made++
		return newFlow(t, e, tid, &e.Super, names[made%len(names)])
	}
	for range 30 {
		newOne()
	}
	base := tenantPath(tid, "/flows")
	for _, sort := range []string{"", "name", "-name", "-created_at", "name,-created_at", "-updated_at,name"} {
		for _, direction := range []string{"next", "prev"} {
			t.Run(sort+" "+direction, func(t *testing.T) {
				query := url.Values{"page[size]": {"4"}}
				if sort != "" {
					query.Set("sort", sort)
				}
				first := getPage(t, e, base+"?"+query.Encode(), &e.Super)
				all := url.Values{"page[size]": {"100"}, "page[number]": {"1"}}
				if sort != "" {
					all.Set("sort", sort)
				}
				before := listIDs(t, e.Get(base+"?"+all.Encode(), &e.Super))
				deleted := map[string]bool{}
				step := 0
				// Between pages: two rows come, one old row and one new row go.
				between := func() {
					step++
					newOne()
					fresh := newOne()
					e.Delete(base+"/"+fresh, &e.Super).ExpectStatus(t, http.StatusNoContent)
					deleted[fresh] = true
					victim := before[(step*7)%len(before)]
					if !deleted[victim] {
						e.Delete(base+"/"+victim, &e.Super).ExpectStatus(t, http.StatusNoContent)
						deleted[victim] = true
					}
				}
				start := first.links["first"]
				if direction == "prev" {
					start = first.links["last"]
				}
				seen := walk(t, e, &e.Super, start, direction, between)
				after := listIDs(t, e.Get(base+"?"+all.Encode(), &e.Super))
				count := map[string]int{}
				for _, id := range seen {
					count[id]++
				}
				var lasting []string // in the order the list has at the end
				for _, id := range after {
					if slices.Contains(before, id) {
						lasting = append(lasting, id)
					}
				}
				for _, id := range lasting {
					if count[id] != 1 {
						t.Errorf("row %s existed throughout and was seen %d times", id, count[id])
					}
				}
				for id, n := range count {
					if n > 1 {
						t.Errorf("row %s seen %d times", id, n)
					}
				}
				var order []string
				for _, id := range seen {
					if slices.Contains(lasting, id) {
						order = append(order, id)
					}
				}
				if !slices.Equal(order, lasting) {
					t.Errorf("the walk saw the lasting rows in another order:\n%v\nwant\n%v", order, lasting)
				}
				if step < 5 {
					t.Errorf("only %d pages: the walk did not exercise changes between pages", step)
				}
			})
		}
	}
}

// Every list, in every order it offers both ways, reads the same by
// cursor (a page of one at a time, forward and back) as by number: each
// sort expression round-trips through a cursor.
func TestEveryListPagesByCursor(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	tid := newTenant(t, e)
	receiver := apitest.NewReceiver(t)
	hook, _ := mustWebhook(t, e, tid, &e.Super, receiver.URL(), "*")
	mustWebhook(t, e, tid, &e.Super, receiver.URL()+"/other", "flow.*")
	e.Post(tenantPath(tid, "/webhooks/"+hook+"/secrets"), &e.Super, doc("webhook-secret", nil, nil)).ExpectStatus(t, http.StatusCreated)
	u := newMember(t, e, tid, []string{"viewer"}, nil)
	newMember(t, e, tid, []string{"admin"}, nil)
	for range 3 {
		newFlow(t, e, tid, &e.Super, "flow-"+uniq())
		newComponent(t, e, tid, &e.Super, nil)
	}
	cid := newOAuthComponent(t, e, tid, &e.Super)
	mustOAuthClient(t, e, tid, &e.Super, cid, "client-a", "a-long-enough-secret")
	machine := apitest.MachineClient(t, e, tid, "viewer")
	apitest.MachineClient(t, e, tid, "viewer")
	e.Post(tenantPath(tid, "/api-clients/"+machine.Client.ID.String()+"/secrets"), &e.Super,
		doc("api-client-secret", map[string]any{}, nil)).ExpectStatus(t, http.StatusCreated)
	e.Post("/v2/users/"+u.UserID+"/api-keys", &e.Super, doc("api-key", map[string]any{"name": "second"}, nil)).ExpectStatus(t, http.StatusCreated)
	apitest.ClientCredentialsToken(t, e, machine) // last_used_at set on one client, not the other
	deliveries := tenantPath(tid, "/webhooks/"+hook+"/deliveries")
	apitest.Eventually(t, 30*time.Second, func() error {
		if n := len(listIDs(t, e.Get(deliveries, &e.Super))); n < 3 {
			return fmt.Errorf("%d deliveries so far", n)
		}
		return nil
	})

	lists := map[string][]string{
		"/v2/tenants": {"name", "created_at", "updated_at"}, "/v2/users": {"email", "created_at", "updated_at"},
		"/v2/users/" + u.UserID + "/api-keys":                                  {"name", "created_at", "last_used_at"},
		tenantPath(tid, "/members"):                                            {"email", "created_at", "updated_at"},
		tenantPath(tid, "/components"):                                         {"name", "created_at", "updated_at"},
		tenantPath(tid, "/flows"):                                              {"name", "created_at", "updated_at"},
		tenantPath(tid, "/oauth-clients"):                                      {"client_id", "created_at", "updated_at"},
		tenantPath(tid, "/api-clients"):                                        {"name", "created_at", "updated_at", "last_used_at"},
		tenantPath(tid, "/audit-events"):                                       {"created_at", "action"},
		tenantPath(tid, "/connections"):                                        {"name", "created_at", "updated_at"},
		tenantPath(tid, "/api-clients/"+machine.Client.ID.String()+"/secrets"): nil,
		"/v2/api-client-templates":                                             nil,
		tenantPath(tid, "/webhooks"):                                           {"created_at", "updated_at", "url"},
		tenantPath(tid, "/webhooks/"+hook+"/secrets"):                          nil,
		deliveries: {"created_at"},
	}
	for list, fields := range lists {
		sorts := []string{""}
		for _, f := range fields {
			sorts = append(sorts, f, "-"+f)
		}
		for _, sort := range sorts {
			q := "?page[size]=1"
			if sort != "" {
				q += "&sort=" + sort
			}
			want := listIDs(t, e.Get(list+"?page[size]=100&page[number]=1"+strings.TrimPrefix(q, "?page[size]=1"), &e.Super))
			first := getPage(t, e, list+q, &e.Super)
			forward := walk(t, e, &e.Super, first.links["first"], "next", nil)
			backward := walk(t, e, &e.Super, first.links["last"], "prev", nil)
			if !slices.Equal(forward, want) || !slices.Equal(backward, want) {
				t.Errorf("%s sort %q: forward %v, backward %v, by number %v", list, sort, forward, backward, want)
			}
		}
	}
}

// The pages' links and meta: the first page knows it is page 1 of n; a page
// read by cursor says its size and the total; prev and next are null where
// nothing lies.
func TestCursorLinksAndMeta(t *testing.T) {
	e, base := flowList(t, 5)
	p1 := getPage(t, e, base+"?page[size]=2", &e.Super)
	if p1.links["prev"] != "" || p1.links["next"] == "" || fmt.Sprint(p1.meta) != "map[page:1 per_page:2 total:5 total_pages:3]" {
		t.Errorf("first page: links %v meta %v", p1.links, p1.meta)
	}
	next, _ := url.Parse(p1.links["next"])
	if next.Query().Get("page[after]") == "" || next.Query().Get("page[number]") != "" {
		t.Errorf("next link %q does not carry a cursor", p1.links["next"])
	}
	p2 := getPage(t, e, p1.links["next"], &e.Super)
	if p2.links["prev"] == "" || p2.links["next"] == "" || fmt.Sprint(p2.meta) != "map[per_page:2 total:5]" {
		t.Errorf("second page: links %v meta %v", p2.links, p2.meta)
	}
	if back := getPage(t, e, p2.links["prev"], &e.Super); !slices.Equal(back.ids, p1.ids) || back.links["prev"] != "" {
		t.Errorf("prev of page 2 is %v (prev %q), want page 1 %v", back.ids, back.links["prev"], p1.ids)
	}
	p3 := getPage(t, e, p2.links["next"], &e.Super)
	if len(p3.ids) != 1 || p3.links["next"] != "" {
		t.Errorf("last page: %v, next %q", p3.ids, p3.links["next"])
	}
	last := getPage(t, e, p1.links["last"], &e.Super)
	if !slices.Equal(last.ids, append(slices.Clone(p2.ids[1:]), p3.ids...)) || last.links["next"] == "" {
		t.Errorf("links.last reads %v (next %q); want the last two", last.ids, last.links["next"])
	}
	// page[number] keeps its numbered links.
	numbered := getPage(t, e, base+"?page[size]=2&page[number]=2", &e.Super)
	if u, _ := url.Parse(numbered.links["next"]); u.Query().Get("page[number]") != "3" {
		t.Errorf("numbered next %q", numbered.links["next"])
	}
}

// Cursors that are not this list's, or not for this order, and
// combinations the profile leaves to the server, are 400s naming the
// parameter.
func TestCursorErrors(t *testing.T) {
	e, base := flowList(t, 3)
	byName := getPage(t, e, base+"?page[size]=1&sort=name", &e.Super)
	u, _ := url.Parse(byName.links["next"])
	cursor := u.Query().Get("page[after]")
	forged := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	for _, tc := range []struct{ query, param, code string }{
		{"page[after]=" + cursor + "&sort=-name", "page[after]", "invalid_cursor"}, // another order
		{"page[before]=" + cursor, "page[before]", "invalid_cursor"},               // the default order
		{"page[after]=garbage!", "page[after]", "invalid_cursor"},
		{"page[after]=", "page[after]", "invalid_cursor"},
		{"page[after]=" + strings.Repeat("a", 2000), "page[after]", "invalid_cursor"},
		{"page[after]=" + forged(`{"o":"name","k":["a"]}`) + "&sort=name", "page[after]", "invalid_cursor"},           // too few keys
		{"page[after]=" + forged(`{"o":"","k":["yesterday-ish","not-a-uuid"]}`), "page[after]", "invalid_cursor"},     // keys the columns cannot read
		{"page[before]=" + forged(`{"o":"name","k":["a","b","c"]}`) + "&sort=name", "page[before]", "invalid_cursor"}, // too many
		{"page[after]=" + forged(`{"o":"","k":["\u0000","x"]}`), "page[after]", "invalid_cursor"},
		{"page[after]=" + cursor + "&sort=name&page[number]=2", "page[number]", "page_number_with_cursor"},
		{"page[after]=" + cursor + "&page[before]=" + cursor + "&sort=name", "page[before]", "range_pagination_not_supported"},
	} {
		r := e.Get(base+"?"+tc.query, &e.Super)
		expectError(t, r, http.StatusBadRequest, tc.code, "")
		if got := r.Errors(t)[0]["source"].(map[string]any)["parameter"]; got != tc.param {
			t.Errorf("%s: names %v, want %s", tc.query, got, tc.param)
		}
	}
	big := e.Get(base+"?page[size]=500", &e.Super).ExpectStatus(t, http.StatusBadRequest).Errors(t)[0]
	if meta, _ := big["meta"].(map[string]any); fmt.Sprint(meta["page"]) != "map[maxSize:100]" {
		t.Errorf("page[size]=500: meta %v, want page.maxSize 100", big["meta"])
	}
	if links, _ := big["links"].(map[string]any); links["type"] != "https://jsonapi.org/profiles/ethanresnick/cursor-pagination/max-size-exceeded" {
		t.Errorf("page[size]=500: links %v", big["links"])
	}
}
