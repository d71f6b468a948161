package console

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/tenants"
)

type homeData struct {
	page
	Tenants []tenants.Tenant
	Pager   pager
}

// Home is GET /console: the tenants the user belongs to (every tenant for
// a superuser), each linking to its pages.
func (h *Handler) Home(c echo.Context) error {
	v := visitOf(c)
	var memberOf = &v.user().ID
	if v.user().Superuser {
		memberOf = nil
	}
	p := pageParams(c, "name")
	list, err := h.d.Tenants.Tenants(c.Request().Context(), memberOf, p)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "home.html", homeData{page: h.base(c, "Your tenants", ""),
		Tenants: list.Items, Pager: newPager(c, p, list.Total)})
}

type tenantHomeData struct {
	page
}

// TenantHome is GET /console/tenants/{tid}: the tenant's sections.
func (h *Handler) TenantHome(c echo.Context) error {
	return h.render(c, http.StatusOK, "tenant.html", tenantHomeData{page: h.base(c, visitOf(c).tenant.Name, "home")})
}

// pageSize is the console's list page size.
const pageSize = 50

// pageParams is ?page=N (from 1; anything else is the first page) of
// pageSize items sorted by sort (a field of the list's store).
func pageParams(c echo.Context, sort ...string) listing.Params {
	n := 1
	if raw := c.QueryParam("page"); raw != "" {
		if v, ok := smallInt(raw); ok && v >= 1 {
			n = v
		}
	}
	p := listing.Params{Number: n, Size: pageSize}
	for _, s := range sort {
		desc := s != "" && s[0] == '-'
		if desc {
			s = s[1:]
		}
		p.Sort = append(p.Sort, listing.Sort{Field: s, Desc: desc})
	}
	return p
}

// smallInt parses a positive decimal of at most 6 digits.
func smallInt(s string) (int, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}

// pager links a list's neighbouring pages, keeping the other query
// parameters (filters).
type pager struct {
	Number, Pages int
	Prev, Next    string
}

func newPager(c echo.Context, p listing.Params, total int64) pager {
	pages := int((total + int64(p.Size) - 1) / int64(p.Size))
	if pages < 1 {
		pages = 1
	}
	out := pager{Number: p.Number, Pages: pages}
	link := func(n int) string {
		q := c.QueryParams()
		q.Del("done")
		q.Set("page", itoa(n))
		return c.Request().URL.Path + "?" + q.Encode()
	}
	if p.Number > 1 {
		out.Prev = link(min(p.Number-1, pages))
	}
	if p.Number < pages {
		out.Next = link(p.Number + 1)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
