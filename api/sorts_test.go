package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// TestEverySortFieldSorts: each list names its sortable fields in the 400
// for an unknown one (derived from the store's own list of sort columns),
// and every field it names sorts both ways: the API and the store cannot
// disagree on a field (which would be a 500).
func TestEverySortFieldSorts(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	for _, list := range []string{"/v2/tenants", "/v2/users", "/v2/users/" + e.Super.UserID + "/api-keys",
		tenantPath(tid, "/members"), tenantPath(tid, "/components"), tenantPath(tid, "/flows"), tenantPath(tid, "/oauth-clients"),
		tenantPath(tid, "/api-clients"), tenantPath(tid, "/audit-events"), tenantPath(tid, "/connections")} {
		bad := expectError(t, e.Get(list+"?sort=no_such_field", &e.Super), http.StatusBadRequest, "unknown_sort_field", "sort")
		detail, _ := bad["detail"].(string)
		_, names, ok := strings.Cut(detail, "sortable fields: ")
		if !ok {
			t.Errorf("%s: the 400 names no sortable fields: %q", list, detail)
			continue
		}
		names, _, _ = strings.Cut(names, " (")
		for _, f := range strings.Split(names, ", ") {
			for _, s := range []string{f, "-" + f} {
				e.Get(list+"?sort="+s, &e.Super).ExpectStatus(t, http.StatusOK)
			}
		}
	}
}
