package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/tenants"
)

var userSchema = schema{Type: "user", Attributes: []string{"email", "password", "superuser"}}

var userList = listSpec{Sorts: tenants.UserSorts.Fields()}

func toUserView(u *tenants.User) *userView {
	return &userView{ID: u.ID.String(), Email: u.Email, Superuser: u.Superuser, Password: u.PasswordHash != nil,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func (s *Server) createUser(c echo.Context) error {
	doc, err := readCreate(c, userSchema)
	if err != nil {
		return err
	}
	in := tenants.NewUser{Email: doc.strOrEmpty("email"), Password: doc.str("password")}
	if su := doc.boolean("superuser"); su != nil {
		in.Superuser = *su
	}
	if err := doc.err(); err != nil {
		return err
	}
	u, err := s.deps.Tenants.CreateUser(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return writeCreated(c, "/v2/users/"+u.ID.String(), toUserView(u))
}

func (s *Server) listUsers(c echo.Context) error {
	q, err := parseList(c, userList)
	if err != nil {
		return err
	}
	page, err := s.deps.Tenants.Users(c.Request().Context(), q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toUserView), q, page.Window)
}

func (s *Server) getUser(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	u, err := s.deps.Tenants.User(c.Request().Context(), userParam(c))
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toUserView(u))
}

// updateUser lets users change their own email and password; only a
// superuser may change the superuser flag.
func (s *Server) updateUser(c echo.Context) error {
	id := userParam(c)
	doc, err := readUpdate(c, userSchema, id.String())
	if err != nil {
		return err
	}
	patch := tenants.UserPatch{Email: doc.str("email"), Password: doc.str("password"), Superuser: doc.boolean("superuser")}
	if err := doc.err(); err != nil {
		return err
	}
	u, err := s.deps.Tenants.UpdateUser(c.Request().Context(), actingOf(c), id, patch)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toUserView(u))
}

func (s *Server) deleteUser(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	if err := s.deps.Tenants.DeleteUser(c.Request().Context(), userParam(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
