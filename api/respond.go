package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/jsonapi"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/internal/listing"
)

const mediaType = jsonapi.MediaType // application/vnd.api+json

func writeJSON(c echo.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return c.Blob(status, mediaType, b)
}

// writeOne encodes one resource (a pointer to a jsonapi-tagged view).
func writeOne(c echo.Context, status int, view any) error {
	p, err := jsonapi.Marshal(view)
	if err != nil {
		return fmt.Errorf("encode resource: %w", err)
	}
	one := p.(*jsonapi.OnePayload)
	one.Included = nil
	return writeJSON(c, status, one)
}

// writeCreated answers a create with 201, the resource and its Location.
func writeCreated(c echo.Context, location string, view any) error {
	c.Response().Header().Set(echo.HeaderLocation, location)
	return writeOne(c, http.StatusCreated, view)
}

// writeList encodes a page of views (a slice of pointers) with pagination
// links and meta.
func writeList[T any](c echo.Context, views []T, q listQuery, w listing.Window) error {
	pl, err := jsonapi.Marshal(views)
	if err != nil {
		return fmt.Errorf("encode list: %w", err)
	}
	many := pl.(*jsonapi.ManyPayload)
	many.Included = nil
	links, meta := pageLinks(c.Request(), q.Page, q.numbered, w)
	l, m := jsonapi.Links(links), jsonapi.Meta(meta)
	many.Links, many.Meta = &l, &m
	return writeJSON(c, http.StatusOK, many)
}

func mapSlice[T, V any](items []T, f func(*T) V) []V {
	out := make([]V, len(items))
	for i := range items {
		out[i] = f(&items[i])
	}
	return out
}
