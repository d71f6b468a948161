package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/internal/app"
)

// adminAPIClients runs the API-client tasks through the same service as
// the API, so its rules (validation, secrets shown once, revocation of
// every token on delete) hold here too. The admin commands act with no
// limit of their own (a nil allowance), as a superuser does.
func adminAPIClients(ctx context.Context, a *app.App, task string, tenantID uuid.UUID, v map[string]string, out io.Writer) error {
	switch task {
	case "create-api-client":
		return adminCreateAPIClient(ctx, a, tenantID, v, out)
	case "list-api-clients":
		return adminListAPIClients(ctx, a, tenantID, out)
	}
	c, err := a.APIClients.ByClientID(ctx, v["client"])
	if err != nil || c.TenantID != tenantID {
		return fmt.Errorf("no API client %q in tenant %s", v["client"], tenantID)
	}
	if task == "delete-api-client" {
		if err := a.APIClients.Delete(ctx, tenantID, c.ID, nil); err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "deleted %s; every token it was issued stops working\n", c.ClientID)
		return err
	}
	s, secret, err := a.APIClients.CreateSecret(ctx, tenantID, c.ID, nil, nil)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "client_secret %s (shown once; hint %s)\n", secret, s.Hint)
	return err
}

func adminCreateAPIClient(ctx context.Context, a *app.App, tenantID uuid.UUID, v map[string]string, out io.Writer) error {
	in := apiclients.NewClient{Name: v["name"], ClientType: v["type"], GrantTypes: splitList(v["grant-types"]),
		Roles: splitList(v["roles"]), Scopes: splitList(v["scopes"]), RedirectURIs: splitList(v["redirect-uris"])}
	if in.ClientType == "" {
		in.ClientType = apiclients.TypeConfidential
	}
	if len(in.GrantTypes) == 0 {
		in.GrantTypes = []string{apiclients.GrantClientCredentials}
	}
	c, secret, err := a.APIClients.Create(ctx, tenantID, nil, in, nil)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "client_id %s\n", c.ClientID)
	if err == nil && secret != "" {
		_, err = fmt.Fprintf(out, "client_secret %s (shown once)\n", secret)
	}
	return err
}

func adminListAPIClients(ctx context.Context, a *app.App, tenantID uuid.UUID, out io.Writer) error {
	page, err := a.APIClients.List(ctx, tenantID, apiclients.Filter{}, defaultPage())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tNAME\tTYPE\tGRANT TYPES\tROLES\tLAST USED")
	for _, c := range page.Items {
		used := "never"
		if c.LastUsedAt != nil {
			used = c.LastUsedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ClientID, c.Name, c.ClientType,
			strings.Join(c.GrantTypes, ","), strings.Join(c.Roles, ","), used)
	}
	return tw.Flush()
}
